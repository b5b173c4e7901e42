"""Exceptions raised by the EpisodeStore. Every message says what was found and what was expected."""


class StoreError(Exception):
    """Base class for every EpisodeStore problem."""


class NotAStoreError(StoreError):
    """The path does not exist, is not a zarr group, or is a zarr group written by something else."""


class SchemaVersionError(StoreError):
    """The store was written with a schema version this code does not read."""


class SchemaMismatchError(StoreError):
    """Data handed to the store does not match its key specs (missing/extra key, shape, dtype)."""


class CorruptStoreError(StoreError):
    """The store's arrays contradict each other in a way an interrupted writer cannot cause."""


class StoreFullError(StoreError, OSError):
    """The disk filled up while writing; the episode in flight is lost, committed episodes are intact."""


class StoreLockedError(StoreError):
    """Another process holds the store's writer lock (one writer at a time)."""
