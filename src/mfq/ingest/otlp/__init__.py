"""OpenTelemetry OTLP/JSON: spans and log records become events.

The reader (:func:`otlp_chunks`) streams the documents (``mfq.ingest.otlp.scan``) and maps
every span, span event and log record to a plain event record (standard field names,
OTLP attributes beside them), which then goes through the same validation as any other
record. Problems only OTLP can have (a bad hex id, an end before the start, a missing
time, a value of the wrong shape) are rejected here, with the reason, the line the record
starts on and the record's own OTLP text; a rejection by the common validation is shown
with the OTLP text too. Record numbers count the records of the source in order: spans,
span events and log records alike.

The mapping (``docs/guide.md``, "OpenTelemetry exports", is the user's version):

- span: ``type`` its name; ``timestamp`` its start; ``duration_ms`` end − start;
  ``trace_id``/``span_id``/``parent_span_id`` lower-case hex; ``id`` is
  ``<trace_id>-<span_id>`` (the same span in two exports is one event); ``kind``
  internal/server/client/producer/consumer (unspecified: absent); ``status`` ok/error
  (unset: absent) and ``status_message``; ``trace_state``, ``flags``, the dropped counts
  when not zero; links as JSON text (``links``).
- span event: an event of its own (``type`` its name, ``timestamp`` its time) with the
  span's ``trace_id`` and the span's id as ``parent_span_id``, so a trace shows it under
  its span; ``id`` is ``<trace_id>-<span_id>-<n>`` (n counts the span's events from 1).
- log record: ``type`` from ``eventName``, else the ``event.name`` attribute, else a
  message template attribute (``{OriginalFormat}``, ``message_template.text``), else the
  first line of a text body, else ``log``; ``timestamp`` ``timeUnixNano`` and
  ``received_at`` ``observedTimeUnixNano`` (a record with only the latter takes it as its
  time, with a warning, as the OTLP data model says); ``severity`` from
  ``severityNumber`` (1–4 trace → debug, 5–8 debug, 9–12 info, 13–16 warn, 17–20 error,
  21–24 fatal), else from ``severityText``; ``severity_text``, ``severity_number``,
  ``body`` (kvlist bodies flatten to ``body.<key>``), ids when present; the id is derived
  from the content.
- resource: ``service.name`` → ``service``, ``deployment.environment.name`` (or the older
  ``deployment.environment``) → ``environment``, ``service.version`` → ``version``; its
  other attributes as ``resource.<key>``. Scope: ``scope.name``, ``scope.version``, its
  attributes as ``scope.<key>``.
- attributes: typed (``intValue`` as int64, ``doubleValue`` float64, ``boolValue``
  boolean, ``stringValue`` and ``bytesValue`` (base64) text, ``arrayValue`` JSON text as
  lists are kept, ``kvlistValue`` flattened with dots), and then treated exactly as a
  Manufactory record's ``attributes``: lifted to the top level, a standard field OTLP left
  empty may come from them, and one that collides with a field set above (or with a
  standard field name) is kept as ``attributes.<key>``.
"""

from mfq.ingest.otlp.reader import otlp_chunks

__all__ = ["otlp_chunks"]
