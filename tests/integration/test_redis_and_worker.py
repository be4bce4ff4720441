import redis
from rq import Queue

from jobs.maintenance import ping
from jobs.worker import QUEUES, AppWorker
from webapp.redis_conn import get_redis, start_embedded_redis, stop_embedded_redis


def test_embedded_redis_starts_on_a_unix_socket_and_is_reused(tmp_path):
    url = start_embedded_redis(tmp_path / "redis")
    try:
        assert url.startswith("unix://")
        client = redis.Redis.from_url(url)
        client.set("k", "v")
        assert start_embedded_redis(tmp_path / "redis") == url
        assert client.get("k") == b"v"
        # No TCP listener: the embedded server is not reachable from the network.
        assert client.config_get("port")["port"] == "0"
    finally:
        stop_embedded_redis(tmp_path / "redis")


def test_real_worker_runs_a_job_inside_the_app(app):
    conn = get_redis()
    job = Queue("critical", connection=conn).enqueue(ping, "hello")
    worker = AppWorker([Queue(name, connection=conn) for name in QUEUES], connection=conn)
    assert worker.work(burst=True)
    job.refresh()
    assert job.get_status() == "finished"
    assert job.return_value() == {"token": "hello", "app": "webapp"}
