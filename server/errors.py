"""The few exceptions trialpub raises, each named for the failure."""

from __future__ import annotations


class TrialpubError(Exception):
    """Base of every error trialpub raises on purpose."""


class ConfigError(TrialpubError):
    """A setting is unknown or has a value of the wrong type."""


class InvalidRecord(TrialpubError):
    """A record is not a ClinicalTrials.gov study, or a field of it is malformed."""

    def __init__(self, record: str, field: str, problem: str) -> None:
        self.record = record
        self.field = field
        self.problem = problem
        super().__init__(f"{record}: {field}: {problem}")


class TrialNotFound(TrialpubError):
    """No trial with this NCT ID is in the store."""

    def __init__(self, nct_id: str) -> None:
        self.nct_id = nct_id
        super().__init__(f"no trial {nct_id} in this registry copy")


class StoreUnavailable(TrialpubError):
    """The SQL store cannot be reached."""


class RegistryError(TrialpubError):
    """ClinicalTrials.gov could not be read; the sync stops and stores nothing more."""


class RegistryUnavailable(RegistryError):
    """The registry kept failing (429, 5xx, timeouts, broken connections) after every retry."""


class RegistryAnswerInvalid(RegistryError):
    """The registry answered with something that is not JSON or not the expected shape, every try."""


class RegistryRefused(RegistryError):
    """The registry rejected the request itself (a 4xx other than 429), e.g. a bad scope query."""


class SyncLocked(TrialpubError):
    """Another sync or load holds the store's write lock."""


class SyncAborted(TrialpubError):
    """A full sync looks partial, so it refused to mark any trial removed."""


class TripleStoreUnavailable(TrialpubError):
    """The triple store cannot be opened or reached."""
