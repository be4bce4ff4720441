"""Campaign batches for providers whose API sends one content to many recipients in one request
(SendGrid personalizations, Mailgun recipient variables).

A campaign renders each content variant once with tokens (`[[nh:name]]`) where per-recipient values
go, and each row keeps its final content and the values it used (`OutboundMessage.substitutions`).
A message's template is its content with those values put back as tokens, accepted only when
substituting them again gives exactly the message; a message whose values cannot be put back shares
with nobody and goes as it is. Messages with the same template (and, where the provider cannot vary
headers per recipient, the same final headers) go as one request, and each gets its request's outcome.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from webapp.channels.providers.base import BatchOutcome, OutboundMessage, ProviderError, SendResult

TOKEN = re.compile(r"\[\[nh:([a-z0-9_]+)\]\]")
OPENING = "[[nh:"  # every token begins so: content without it holds no token
# Templates tried before deriving a new one; a job holds a campaign's few content variants.
RECENT = 8


@dataclass(frozen=True)
class GroupingRules:
    limit: int  # messages per request
    # True where each recipient can get its own headers (SendGrid personalizations); otherwise a
    # request shares its headers, so only messages with the same final headers group.
    per_recipient_headers: bool = False
    # Whether the provider can carry this message's values in a shared request (size limits, names
    # it reserves); a message it cannot goes in a request of its own.
    expressible: Callable[[OutboundMessage], bool] | None = None


@dataclass(frozen=True)
class Template:
    """A group's shared content, with tokens where each recipient's values go."""
    subject: str
    body: str
    text: str | None
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Group:
    indexes: list[int]
    template: Template | None  # None: one message, sent with its own final content


@dataclass(eq=False)
class _Shape:
    """One template, split for matching: per text, literal, token, literal, ..., literal."""
    frame: tuple
    parts: tuple[tuple[str, ...], ...]
    template: Template
    members: int = field(default=0)


def tokens(text: str) -> set[str]:
    return {match.group(0) for match in TOKEN.finditer(text)}


def forward(text: str, substitutions: Mapping[str, str]) -> str:
    """What the provider makes of a template text for one recipient: each token its value."""
    return TOKEN.sub(lambda match: substitutions.get(match.group(0), match.group(0)), text)


def content_groups(messages: list[OutboundMessage], rules: GroupingRules) -> list[list[int]]:
    """Indexes of messages that go in one request, at most `rules.limit` each and each address
    (compared case-insensitively) at most once, since providers key per-recipient data by it."""
    return [group.indexes for group in template_groups(messages, rules)]


def send_grouped(messages: list[OutboundMessage], rules: GroupingRules,
                 send_group: Callable[[list[OutboundMessage], Template | None], SendResult]) -> list[BatchOutcome]:
    """One request per group; a request's result or error is every one of its messages' outcome."""
    outcomes: list[BatchOutcome | None] = [None] * len(messages)
    for group in template_groups(messages, rules):
        try:
            outcome: BatchOutcome = send_group([messages[i] for i in group.indexes], group.template)
        except ProviderError as error:
            outcome = error
        for i in group.indexes:
            outcomes[i] = outcome
    return outcomes  # type: ignore[return-value]  (every index belongs to exactly one group)


def template_of(message: OutboundMessage, rules: GroupingRules) -> Template | None:
    """The message's template on its own, or None when it shares with nobody."""
    shape = _Shapes(rules).of(message, _frame(message, rules))
    return shape.template if shape is not None else None


def template_groups(messages: list[OutboundMessage], rules: GroupingRules) -> list[Group]:
    shapes = _Shapes(rules)
    frames = [_frame(message, rules) for message in messages]
    # A frame met once shares with nobody (each recipient's own List-Unsubscribe, where a request
    # shares its headers): no template is worth deriving for it.
    counts = Counter(frames)
    assigned = [shapes.of(message, frame) if counts[frame] > 1 else None
                for message, frame in zip(messages, frames, strict=True)]
    shapes.rejoin(messages, assigned)
    return _pack(messages, assigned, rules.limit)


class _Shapes:
    """The templates met so far in one grouping, most recently matched first."""

    def __init__(self, rules: GroupingRules):
        self.rules = rules
        self.recent: list[_Shape] = []
        self.known: dict[tuple, _Shape] = {}

    def of(self, message: OutboundMessage, frame: tuple) -> _Shape | None:
        """The message's template, or None when it shares with nobody."""
        subs = message.substitutions or {}
        texts = _texts(message, self.rules)
        if not self._shareable(message, subs, texts):
            return None
        for position, shape in enumerate(self.recent):
            if shape.frame == frame and _matches(shape.parts, texts, subs):
                self._touch(position)
                shape.members += 1
                return shape
        templated = _reverse(texts, subs)
        if templated is None:
            return None
        shape = self._remember(frame, templated)
        shape.members += 1
        return shape

    def rejoin(self, messages: list[OutboundMessage], assigned: list[_Shape | None]) -> None:
        """A template derived from a value that also occurs elsewhere in the text ("Al" in "All")
        fits that message alone; the message may still fit a template others share."""
        popular = sorted((s for s in self.known.values() if s.members > 1), key=lambda s: -s.members)[:RECENT]
        for index, shape in enumerate(assigned):
            if shape is None or shape.members != 1:
                continue
            message = messages[index]
            texts, subs = _texts(message, self.rules), message.substitutions or {}
            for other in popular:
                if other.frame == shape.frame and _matches(other.parts, texts, subs):
                    shape.members, other.members = 0, other.members + 1
                    assigned[index] = other
                    break

    def _shareable(self, message: OutboundMessage, subs: Mapping[str, str], texts: tuple[str, ...]) -> bool:
        # Token text in the content itself would be taken for a token by the provider.
        if not _valid(subs) or any(_holds_token(text) for text in texts):
            return False
        return self.rules.expressible is None or self.rules.expressible(message)

    def _touch(self, position: int) -> None:
        if position:
            self.recent.insert(0, self.recent.pop(position))

    def _remember(self, frame: tuple, templated: tuple[str, ...]) -> _Shape:
        key = (frame, templated)
        shape = self.known.get(key)
        if shape is None:
            shape = self.known[key] = _Shape(frame, tuple(_split(t) for t in templated),
                                             _template(frame, templated, self.rules))
        if shape in self.recent:
            self.recent.remove(shape)
        self.recent.insert(0, shape)
        del self.recent[RECENT:]
        return shape


def _texts(message: OutboundMessage, rules: GroupingRules) -> tuple[str, ...]:
    """What a template covers: subject, HTML, text and, where headers vary per recipient, their values."""
    texts = (message.subject or "", message.body, message.text or "")
    if rules.per_recipient_headers:
        texts += tuple(value for _, value in sorted((message.headers or {}).items()))
    return texts


def _frame(message: OutboundMessage, rules: GroupingRules) -> tuple:
    """What must be equal besides the templated texts: whether there is a text part, and the header
    names (or, where a request shares its headers, the final headers)."""
    headers = tuple(sorted((message.headers or {}).items()))
    if rules.per_recipient_headers:
        return message.text is None, tuple(name for name, _ in headers)
    return message.text is None, headers


def _holds_token(text: str) -> bool:
    """Whether the text holds a token's opening. Looks for "[" first, which most HTML lacks: a
    memchr (0.2 µs over 25 KB) where searching the opening itself takes 10 µs (CSS is full of ":")."""
    position = text.find("[")
    while position != -1:
        if text.startswith(OPENING, position):
            return True
        position = text.find("[", position + 1)
    return False


def _valid(subs: Mapping[str, str]) -> bool:
    return all(isinstance(value, str) and isinstance(token, str) and TOKEN.fullmatch(token)
               for token, value in subs.items())


def _reverse(texts: tuple[str, ...], subs: Mapping[str, str]) -> tuple[str, ...] | None:
    """Each value back to its token, longest value first (a name inside a longer link stays in the
    link's token); None unless substituting the tokens again gives exactly the texts."""
    token_of: dict[str, str] = {}
    for value, token in sorted(((v, t) for t, v in subs.items() if v), key=lambda pair: (-len(pair[0]), pair[1])):
        token_of.setdefault(value, token)
    if not token_of:
        return texts
    # One pass, so a shorter value never matches inside a token already put in.
    pattern = re.compile("|".join(map(re.escape, token_of)))
    templated = tuple(pattern.sub(lambda match: token_of[match.group(0)], text) for text in texts)
    if any(forward(t, subs) != text for t, text in zip(templated, texts, strict=True)):
        return None
    return templated


def _split(text: str) -> tuple[str, ...]:
    pieces = TOKEN.split(text)  # literal, name, literal, name, ..., literal
    return tuple(piece if i % 2 == 0 else f"[[nh:{piece}]]" for i, piece in enumerate(pieces))


def _matches(parts: tuple[tuple[str, ...], ...], texts: tuple[str, ...], subs: Mapping[str, str]) -> bool:
    """Whether the template gives exactly these texts with these values, without building them."""
    return all(_fits(pieces, text, subs) for pieces, text in zip(parts, texts, strict=True))


def _fits(pieces: tuple[str, ...], text: str, subs: Mapping[str, str]) -> bool:
    position = 0
    for i, piece in enumerate(pieces):
        expected = subs.get(piece) if i % 2 else piece
        if expected is None or not text.startswith(expected, position):
            return False
        position += len(expected)
    return position == len(text)


def _template(frame: tuple, templated: tuple[str, ...], rules: GroupingRules) -> Template:
    has_no_text, names_or_headers = frame
    if rules.per_recipient_headers:
        headers = tuple(zip(names_or_headers, templated[3:], strict=True))
    else:
        headers = names_or_headers
    return Template(templated[0], templated[1], None if has_no_text else templated[2], headers)


def _pack(messages: list[OutboundMessage], assigned: list[_Shape | None], limit: int) -> list[Group]:
    groups: list[list[int]] = []
    templates: list[_Shape | None] = []
    open_groups: dict[int, list[tuple[list[int], set[str]]]] = {}
    for index, (message, shape) in enumerate(zip(messages, assigned, strict=True)):
        address = message.recipient.strip().lower()
        candidates = open_groups.setdefault(id(shape), []) if shape is not None else []
        for indexes, addresses in candidates:
            if address not in addresses and len(indexes) < limit:
                indexes.append(index)
                addresses.add(address)
                break
        else:
            indexes = [index]
            candidates.append((indexes, {address}))
            groups.append(indexes)
            templates.append(shape)
    return [Group(indexes, shape.template if shape is not None and len(indexes) > 1 else None)
            for indexes, shape in zip(groups, templates, strict=True)]
