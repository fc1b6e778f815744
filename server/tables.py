"""The SQL schema, one definition for SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only autoincrements INTEGER PRIMARY KEY; BigInteger elsewhere.
_Id = BigInteger().with_variant(Integer(), "sqlite")

runs = Table(
    "runs",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # load, sync, sync-full
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", String(16), nullable=False),  # running, success, failed, aborted
    Column("registry_timestamp", String(40)),  # the registry's dataTimestamp, for syncs
    Column("counts", Text, nullable=False, default="{}"),  # JSON object of counters
    Column("message", Text),
)

# Every distinct version of every record. The raw API v2 JSON is the source of truth.
versions = Table(
    "versions",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("nct_id", String(11), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("last_update", String(10)),  # lastUpdatePostDate as written by the registry
    Column("raw", LargeBinary, nullable=False),  # zlib-compressed JSON
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("run_id", ForeignKey("runs.id")),
    UniqueConstraint("nct_id", "content_hash", name="versions_trial_hash"),
)

# The current version of each trial, with the columns listings filter on.
trials = Table(
    "trials",
    metadata,
    Column("nct_id", String(11), primary_key=True),
    Column("version_id", ForeignKey("versions.id"), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("last_update", String(10)),
    Column("overall_status", String(32)),
    Column("study_type", String(32)),
    Column("phases", String(80), nullable=False, default=""),  # space-separated
    Column("countries", Text, nullable=False, default="|"),  # "|France|Spain|", for LIKE filters
    Column("title", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("removed_at", DateTime(timezone=True)),  # set when a full sync no longer finds it
    Index("trials_status", "overall_status"),
    Index("trials_last_update", "last_update"),  # listings show the latest updated first
)

# Conditions of each trial's current version: MeSH terms with their ancestors, or free text.
trial_conditions = Table(
    "trial_conditions",
    metadata,
    Column("nct_id", ForeignKey("trials.nct_id"), primary_key=True),
    Column("slug", String(200), primary_key=True),
    Column("label", Text, nullable=False),
    Column("mesh_id", String(16)),
    Column("is_ancestor", Boolean, nullable=False, default=False),
    # A feed lists the trials of a slug and names it by its label: both read from the index alone.
    Index("trial_conditions_slug_trial", "slug", "nct_id"),
    Index("trial_conditions_slug_label", "slug", "label"),
)

# Change events derived from diffs of consecutive versions.
events = Table(
    "events",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),  # stable, content-derived
    Column("nct_id", String(11), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("old_value", Text),  # JSON
    Column("new_value", Text),  # JSON
    Column("detail", Text),  # JSON
    Column("version_id", ForeignKey("versions.id")),
    Column("registry_last_update", String(10)),
    Column("detected_at", DateTime(timezone=True), nullable=False),
    Column("run_id", ForeignKey("runs.id")),
    Index("events_trial", "nct_id"),
    Index("events_detected", "detected_at"),
)

# What the triple store holds of each trial: the content hash of the version last written there.
# Written after the triple store commits, so a crash between the two leaves a mismatch that the
# next reconcile repairs (writing a trial's graph again is harmless).
indexed_trials = Table(
    "indexed_trials",
    metadata,
    Column("nct_id", String(11), primary_key=True),
    Column("content_hash", String(64), nullable=False),
)

# Small facts about the triple store: which store was indexed, the last event written, statistics.
index_state = Table(
    "index_state",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)

# What a bulk file's record bytes (versionHolder blanked) were found to hold: a full sync from a
# file recognises a record it has seen byte for byte without parsing it.
raw_hashes = Table(
    "raw_hashes",
    metadata,
    Column("raw_hash", String(64), primary_key=True),
    Column("nct_id", String(11), nullable=False),
    Column("content_hash", String(64), nullable=False),
)


# What a listing of trials shows (home page, search, condition pages, the dataset's examples).
LISTING_COLUMNS = (
    trials.c.nct_id,
    trials.c.title,
    trials.c.overall_status,
    trials.c.study_type,
    trials.c.phases,
    trials.c.last_update,
)
