"""Error types whose messages are one sentence naming the problem and the fix."""


class RAExplorerError(Exception):
    """Base class: the message is meant to be shown to the user as is."""


class DataError(RAExplorerError):
    """A dataset is missing, unreadable or named wrongly."""


class CheckpointError(RAExplorerError):
    """A checkpoint or model card is missing, corrupt, or disagrees with its weights."""


class InputError(RAExplorerError, ValueError):
    """An option, parameter or input value has the wrong type or lies outside its range.

    Also a ValueError, so that callers that caught ValueError before keep working.
    """


class TrainingStateError(RAExplorerError):
    """A resumable training state is damaged, foreign, or belongs to another run."""


class UnknownNameError(RAExplorerError, KeyError):
    """A name is not in a registry; the message lists the close names."""

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0]) if self.args else ""


def close_names_hint(name: str, known: list[str]) -> str:
    """``" Did you mean 'a', 'b'?"`` for the registered names close to ``name`` (else "")."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=3, cutoff=0.4)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def unknown_name(kind: str, name: str, known: list[str]) -> UnknownNameError:
    """Build an UnknownNameError that suggests the closest registered names."""
    return UnknownNameError(
        f"Unknown {kind} {name!r}.{close_names_hint(name, known)} "
        f"Known {kind}s: {', '.join(sorted(known))}."
    )
