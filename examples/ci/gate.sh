#!/bin/sh
# Gate a CI job on the events its test run emitted.
#
# Ingests the test run's export into a store, then checks assertions over it. mfq check
# exits 1 when an assertion fails (the job fails), 2 for a malformed assertion, 3 when
# the export could not be read; in every case it writes the JUnit XML the CI system shows
# as test results, one testcase per assertion.
#
#   EXPORT=build/events.ndjson sh examples/ci/gate.sh [ASSERTION...] [mfq check options]
#
# Environment:
#   EXPORT  the test run's export: NDJSON or JSON, maybe gzip/zstd/bz2, a directory or glob
#   STORE   the store to ingest into (default .mfq-ci; a fresh checkout has none, and
#           re-ingesting the same export changes nothing)
#   JUNIT   where to write the JUnit XML (default mfq-check.xml)
#   MFQ     the mfq command (default mfq)
# Arguments: the assertions (default: the three below), and any mfq check options, e.g.
#   --where "service = 'checkout'" or --last 1h for a store that keeps many runs.
set -u

: "${EXPORT:?set EXPORT to the test run's event export}"
STORE=${STORE:-.mfq-ci}
JUNIT=${JUNIT:-mfq-check.xml}
MFQ=${MFQ:-mfq}

if [ "$#" -eq 0 ]; then
    set -- \
        "count(type = 'order.created') >= 1" \
        "ratio(status = 'error') < 0.02" \
        "p95(duration_ms) < 800"
fi

# The ingest summary goes to the log as one JSON line. When the export cannot be read,
# carry on: the check then reports the missing or empty store in the JUnit XML too.
"$MFQ" ingest --store "$STORE" --format ndjson "$EXPORT" ||
    echo "gate: mfq ingest failed (exit $?); the check below reports it" >&2

exec "$MFQ" check --store "$STORE" --junit "$JUNIT" "$@"
