"""Checking a template before it is saved: syntax, the constructs and variables it may use, and what
it renders to with the message type's sample data.

Nothing a check refuses is saved. Each problem names the field and, where it can, the line and
column, so the editor shows it next to the line and the API answers it as
`{"error", "line", "column"}`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError, nodes

from webapp.templating import catalog
from webapp.templating.context import build_context
from webapp.templating.render import FILTERS, TemplateRenderError, environment, render

MAX_LOOP_DEPTH = 2
MAX_SOURCE = 64 * 1024  # characters of one field's template
FORBIDDEN_NAMES = {"self", "config", "request", "session", "g", "url_for", "cycler", "joiner", "namespace",
                   "lipsum", "dict", "range_", "os", "sys"}
ALLOWED_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Getattr, nodes.Getitem,
                 nodes.Const, nodes.If, nodes.For, nodes.Filter, nodes.Test, nodes.Compare, nodes.Operand,
                 nodes.And, nodes.Or, nodes.Not, nodes.Add, nodes.Sub, nodes.Mul, nodes.Div,
                 nodes.FloorDiv, nodes.Mod, nodes.Neg, nodes.Pos, nodes.CondExpr, nodes.Assign, nodes.Call,
                 nodes.Keyword, nodes.List, nodes.Tuple, nodes.Slice)
CONSTRUCT_NAMES = {nodes.Macro: "macro", nodes.CallBlock: "call", nodes.Import: "import",
                   nodes.FromImport: "import", nodes.Include: "include", nodes.Extends: "extends",
                   nodes.Block: "block", nodes.FilterBlock: "filter block", nodes.With: "with",
                   nodes.Pow: "** (powers)", nodes.Dict: "{…} (dict literals)", nodes.AssignBlock: "set block",
                   nodes.Concat: "~ (joining values; write them one after the other instead)"}


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict:
        return {"error": self.message, "field": self.field, "line": self.line, "column": self.column}


def validate(message_type: catalog.MessageType, channel: str, fields: dict[str, str], *,
             sms_segments: Callable[[str], int] | None = None, max_segments: int = 3,
             locale: str = "en") -> list[Problem]:
    """Every problem with `fields` (a channel's template) for `message_type`; [] when it may be saved."""
    problems: list[Problem] = []
    allowed = catalog.CHANNEL_FIELDS.get(channel, ())
    for name in catalog.REQUIRED_FIELDS.get(channel, ("body",)):
        if not (fields.get(name) or "").strip():
            problems.append(Problem(name, f"{catalog.FIELD_LABELS.get(name, name)} cannot be empty."))
    sample = build_context(message_type, catalog.sample_context(message_type), locale=locale, currency="EUR")
    for name, source in fields.items():
        if name not in allowed:
            problems.append(Problem(name, f"{channel} templates have no field “{name}”."))
            continue
        if not source or name == "provider_template":
            continue
        if len(source) > MAX_SOURCE:
            problems.append(Problem(name, f"{catalog.FIELD_LABELS.get(name, name)} is longer than {MAX_SOURCE:,} "
                                          "characters."))
            continue
        html = channel == "email" and name == "body"
        found = _check_source(message_type, name, source, html)
        if not found:
            found = _check_render(name, source, sample, html, channel, sms_segments, max_segments)
        problems.extend(found)
    return problems


def _check_source(message_type: catalog.MessageType, field: str, source: str, html: bool) -> list[Problem]:
    try:
        tree = environment(html).parse(source)
    except TemplateSyntaxError as error:
        return [Problem(field, f"Syntax error: {error.message}", error.lineno, _column(source, error.lineno))]
    except (RecursionError, MemoryError, ValueError, OverflowError):
        return [Problem(field, "The template is too deeply nested to be read.")]
    checker = _TreeCheck(message_type, field, source)
    try:
        checker.visit(tree, depth=0, local_names=frozenset({"loop"}), loop_paths={})
    except RecursionError:
        return [Problem(field, "The template is too deeply nested to be read.")]
    return checker.problems


def _check_render(field, source, sample, html, channel, sms_segments, max_segments) -> list[Problem]:
    try:
        text = render(source, sample, html=html, channel=channel)
    except TemplateRenderError as error:
        return [Problem(field, str(error), error.line, error.column)]
    if channel == "sms" and field == "body" and sms_segments is not None:
        segments = sms_segments(text)
        if segments > max_segments:
            return [Problem(field, f"With the sample data this SMS is {segments} segments long; the most allowed "
                                   f"is {max_segments}. Shorten it, or raise the limit in the settings.")]
    return []


def _names(target) -> set[str]:
    """The names a loop or {% set %} target binds (find_all skips the node itself)."""
    found = [target] if isinstance(target, nodes.Name) else list(target.find_all(nodes.Name))
    return {n.name for n in found}


def _column(source: str, line: int | None) -> int | None:
    if not line:
        return None
    lines = source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    position = min((i for i in (text.find("{{"), text.find("{%")) if i >= 0), default=0)
    return position + 1


class _TreeCheck:
    """Walks a parsed template and records what it may not do."""

    def __init__(self, message_type: catalog.MessageType, field: str, source: str):
        self.type, self.field, self.source = message_type, field, source
        self.problems: list[Problem] = []
        self.known = {v.name: v.sample for v in message_type.variables}

    def refuse(self, node, message: str) -> None:
        line = getattr(node, "lineno", None)
        self.problems.append(Problem(self.field, message, line, _column(self.source, line)))

    def visit(self, node, depth: int, local_names: frozenset, loop_paths: dict) -> frozenset:
        if not isinstance(node, ALLOWED_NODES):
            what = CONSTRUCT_NAMES.get(type(node), type(node).__name__)
            self.refuse(node, f"“{what}” is not allowed in message templates.")
            return local_names
        if isinstance(node, nodes.For):
            return self._visit_for(node, depth, local_names, loop_paths)
        if isinstance(node, nodes.Assign):
            self.visit(node.node, depth, local_names, loop_paths)
            if isinstance(node.target, nodes.Name):  # an alias of template data reads as that data
                loop_paths[node.target.name] = self._path(node.node, loop_paths)
            return local_names | _names(node.target)
        if isinstance(node, nodes.Name):
            self._check_name(node, local_names)
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            self._check_path(node, local_names, loop_paths)
        elif isinstance(node, nodes.Filter) and node.name not in FILTERS:
            self.refuse(node, f"There is no filter “{node.name}” (available: {', '.join(sorted(FILTERS))}).")
        elif isinstance(node, nodes.Call) and not (isinstance(node.node, nodes.Name) and node.node.name == "range"):
            self.refuse(node, "Templates cannot call functions (only range()).")
        # A {% set %} is seen by what follows it in the same body (an if does not open a scope).
        sequential = isinstance(node, nodes.Template | nodes.If | nodes.Output)
        names = local_names
        for child in node.iter_child_nodes():
            result = self.visit(child, depth, names, loop_paths)
            if sequential:
                names = result
        return names

    def _visit_for(self, node: nodes.For, depth: int, local_names: frozenset, loop_paths: dict) -> frozenset:
        if depth + 1 > MAX_LOOP_DEPTH:
            self.refuse(node, f"Loops can be nested at most {MAX_LOOP_DEPTH} deep.")
            return local_names
        iterable = node.iter
        is_range = isinstance(iterable, nodes.Call) and isinstance(iterable.node, nodes.Name) \
            and iterable.node.name == "range"
        if not (is_range or (isinstance(iterable, nodes.Name | nodes.Getattr) and self._path(iterable, loop_paths))):
            self.refuse(node, "A loop goes over a variable (such as order.lines) or range(…).")
            return local_names
        self.visit(iterable, depth, local_names, loop_paths)
        targets = _names(node.target)
        inner_paths = dict(loop_paths)
        path = self._path(iterable, loop_paths)
        for target in targets:
            inner_paths[target] = f"{path}[]" if path else None
        inner = local_names | targets
        for child in (*node.body, *node.else_):
            inner = self.visit(child, depth + 1, inner, inner_paths)
        if node.test is not None:
            self.visit(node.test, depth + 1, inner, inner_paths)
        return local_names

    def _check_name(self, node: nodes.Name, local_names: frozenset) -> None:
        if node.ctx != "load" or node.name in local_names or node.name == "range":
            return
        if node.name.startswith("_") or node.name in FORBIDDEN_NAMES:
            self.refuse(node, f"“{node.name}” is not available in message templates.")
        elif node.name not in self.type.roots:
            self.refuse(node, f"Unknown variable “{node.name}”. {self._offer()}")

    def _check_path(self, node, local_names: frozenset, loop_paths: dict) -> None:
        key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(key, str) and key.startswith("_"):
            self.refuse(node, f"“{key}” is not available in message templates.")
            return
        path = self._path(node, loop_paths)
        if path and not self._exists(path):
            self.refuse(node, f"Unknown variable “{path.replace('[]', '')}”. {self._offer()}")

    def _path(self, node, loop_paths: dict) -> str | None:
        """The dotted catalog path an expression reads ("order.tracking.number", "order.lines[].title"),
        or None when it is not a plain read of template data."""
        if isinstance(node, nodes.Name):
            if node.name in loop_paths:
                return loop_paths[node.name]
            return node.name if node.name in self.type.roots else None
        if isinstance(node, nodes.Getattr):
            base = self._path(node.node, loop_paths)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            base = self._path(node.node, loop_paths)
            if base and isinstance(node.arg.value, str):
                return f"{base}.{node.arg.value}"
            return f"{base}[]" if base and isinstance(node.arg.value, int) else None
        return None

    def _exists(self, path: str) -> bool:
        if path in self.known or any(name.startswith(path + ".") for name in self.known):
            return True
        for name, sample in self.known.items():  # a field of an item of a list variable
            if path.startswith(name + "[]") and isinstance(sample, list) and sample:
                rest = path[len(name) + 2:].lstrip(".")
                return not rest or (isinstance(sample[0], dict) and rest.split(".")[0] in sample[0])
        return False

    def _offer(self) -> str:
        return "Available: " + ", ".join(v.name for v in self.type.variables) + "."
