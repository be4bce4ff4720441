"""Rendering message templates in a sandboxed Jinja2 environment.

Templates come from merchants, so they run sandboxed (no attribute access to internals, no
imports) with autoescaping for HTML email and none for SMS text.
"""
from __future__ import annotations

from functools import lru_cache

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateRenderError(ValueError):
    """A template failed to compile or render; the message says where and why."""


@lru_cache(maxsize=2)
def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(autoescape=autoescape, undefined=StrictUndefined,
                                         trim_blocks=True, lstrip_blocks=True)


@lru_cache(maxsize=1024)
def _compile(source: str, autoescape: bool):
    return _environment(autoescape).from_string(source)


def render(source: str, context: dict, *, html: bool = False) -> str:
    try:
        return _compile(source, html).render(context).strip()
    except TemplateError as error:
        where = f" (line {error.lineno})" if getattr(error, "lineno", None) else ""
        raise TemplateRenderError(f"{type(error).__name__}{where}: {error.message or error}") from error
