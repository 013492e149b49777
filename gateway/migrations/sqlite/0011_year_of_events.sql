-- A year of events (issue 17): what keeps the auditor's pages, the exports and the daily
-- purge fast at 15 million rows. Kept column-for-column equal to ../postgres/.

-- Search by source address.
CREATE INDEX audit_source_time ON audit_events(source, time);

-- The retention purge: the rows not yet purged, per kind, oldest first. Partial, so rows
-- leave it as they are purged and a purge never walks over the ones done before.
CREATE INDEX audit_unpurged_kind_time ON audit_events(kind, time) WHERE purged = FALSE;

-- The most failures (usernames and sources with most rejects in a range): covering, over
-- rejected rows only (a few per cent of all).
CREATE INDEX audit_rejects_username ON audit_events(kind, time, username) WHERE outcome = 'reject';
CREATE INDEX audit_rejects_source ON audit_events(kind, time, source) WHERE outcome = 'reject';

-- Events per UTC day (days since the epoch), organisation (-1: all organisations, 0: none),
-- kind, channel, outcome and reason ('' for none), kept in each event's transaction: counts
-- and the per-day chart read whole days here (see src/store/filter.rs).
CREATE TABLE audit_daily (
    day      INTEGER NOT NULL,
    org_id   INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    channel  TEXT    NOT NULL,
    outcome  TEXT    NOT NULL,
    reason   TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (org_id, kind, day, channel, outcome, reason)
);

INSERT INTO audit_daily (day, org_id, kind, channel, outcome, reason, n)
SELECT (time - ((time % 86400) + 86400) % 86400) / 86400, -1, kind, channel, outcome,
       COALESCE(reason, ''), COUNT(*)
FROM audit_events GROUP BY 1, 3, 4, 5, 6;

INSERT INTO audit_daily (day, org_id, kind, channel, outcome, reason, n)
SELECT (time - ((time % 86400) + 86400) % 86400) / 86400, COALESCE(org_id, 0), kind, channel,
       outcome, COALESCE(reason, ''), COUNT(*)
FROM audit_events GROUP BY 1, 2, 3, 4, 5, 6;
