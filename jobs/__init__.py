"""Functions RQ workers run. Each takes ids, not objects, and runs inside an app context."""
