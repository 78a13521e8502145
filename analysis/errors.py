"""Error types whose messages are one sentence naming the problem and the fix."""


class RAExplorerError(Exception):
    """Base class: the message is meant to be shown to the user as is."""


class DataError(RAExplorerError):
    """A dataset is missing, unreadable or named wrongly."""


class CheckpointError(RAExplorerError):
    """A checkpoint or model card is missing, corrupt, or disagrees with its weights."""


class UnknownNameError(RAExplorerError, KeyError):
    """A name is not in a registry; the message lists the close names."""

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0]) if self.args else ""


def unknown_name(kind: str, name: str, known: list[str]) -> UnknownNameError:
    """Build an UnknownNameError that suggests the closest registered names."""
    import difflib

    close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return UnknownNameError(
        f"Unknown {kind} {name!r}.{hint} Known {kind}s: {', '.join(sorted(known))}."
    )
