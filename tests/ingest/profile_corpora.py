"""Generated records of each format a profile claims, written from the formats' own
documentation (field names, nesting and value forms), not copied from real files.

- CloudTrail: "CloudTrail record contents" (AWS CloudTrail User Guide): the S3 log file is
  ``{"Records": [...]}``; shippers (Logstash, Beats) write one record a line and add
  ``@timestamp``/``@version``. Insights events carry ``eventType`` and ``insightDetails``.
- Kubernetes audit: ``audit.k8s.io/v1`` Event (kubernetes.io, "Auditing"): ``auditID``,
  ``stage``, ``verb``, ``objectRef``, ``responseStatus``, ``requestReceivedTimestamp``,
  ``stageTimestamp``; ``v1beta1`` also has ``timestamp``.
- Zeek: "Logs" (docs.zeek.org): ``ts``, ``uid``, ``id.orig_h`` ...; the JSON writer adds
  ``_path`` (ISO ``ts`` with ``LogAscii::json_timestamps``, else epoch seconds); a shipper
  (RockNSM's) writes ``@stream`` and ``id_orig_h``.
- Windows: Security/Sysmon events as JSON (``EventID``, ``Channel``, ``TimeCreated`` or
  ``TimeCreated.SystemTime``, ``Level`` 0-5, ``Computer``).
- ECS: the Elastic Common Schema field reference (``@timestamp``, ``event.*``, ``log.level``,
  ``ecs.version``), and ecs-logging's dotted top-level keys (``"log.level"``).
- Suricata EVE: "EVE JSON Output" (``timestamp``, ``flow_id``, ``event_type``, ``src_ip``...).
- GitHub: "GitHub event types" (``id``, ``type``, ``actor``, ``repo``, ``payload``,
  ``public``, ``created_at``).
- Manufactory: SPEC's Input: flat wide events, collector messages, REST bodies.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

Record = dict[str, object]
BASE = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)

_words = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10)
_scalars = st.one_of(st.integers(-(10**6), 10**6), _words, st.booleans())


def _iso(seconds: int, zulu: bool = True) -> str:
    moment = BASE + timedelta(seconds=seconds, microseconds=seconds * 7 % 1_000_000)
    text = moment.isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z") if zulu else text


@st.composite
def cloudtrail(draw: st.DrawFn, ndjson: bool = False) -> Record:
    n = draw(st.integers(0, 10**6))
    name = draw(st.sampled_from(["StartInstances", "GetObject", "AssumeRole", "ListBuckets"]))
    record: Record = {
        "eventVersion": draw(st.sampled_from(["1.05", "1.08", "1.09"])),
        "userIdentity": {
            "type": "IAMUser",
            "principalId": f"AIDA{n}",
            "arn": f"arn:aws:iam::123456789012:user/u{n}",
            "accountId": "123456789012",
            "userName": f"u{n}",
        },
        "eventTime": _iso(n).split(".")[0] + "Z",
        "eventSource": draw(st.sampled_from(["ec2.amazonaws.com", "s3.amazonaws.com"])),
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15",
        "requestParameters": {"instancesSet": {"items": [{"instanceId": f"i-{n:08x}"}]}},
        "responseElements": None,
        "requestID": f"req-{n}",
        "eventID": f"ev-{n}-{name}",
        "eventType": "AwsApiCall",
        "recipientAccountId": "123456789012",
        "resources": [{"ARN": f"arn:aws:ec2:::instance/i-{n:08x}", "type": "AWS::EC2::Instance"}],
    }
    if draw(st.booleans()):
        record["errorCode"] = "AccessDenied"
        record["errorMessage"] = "not authorized"
    if ndjson:
        record["@timestamp"] = record.pop("eventTime") if draw(st.booleans()) else _iso(n)
        record["@version"] = "1"
    return record


@st.composite
def k8s_audit(draw: st.DrawFn, version: str = "v1") -> Record:
    n = draw(st.integers(0, 10**6))
    verb = draw(st.sampled_from(["get", "list", "create", "delete", "watch", "patch"]))
    resource = draw(st.sampled_from(["pods", "secrets", "deployments", "configmaps"]))
    record: Record = {
        "kind": "Event",
        "apiVersion": f"audit.k8s.io/{version}",
        "level": draw(st.sampled_from(["Metadata", "Request", "RequestResponse"])),
        "auditID": f"5e7b{n:08d}-1111-2222-3333-444455556666",
        "stage": draw(st.sampled_from(["RequestReceived", "ResponseComplete"])),
        "requestURI": f"/api/v1/namespaces/default/{resource}",
        "verb": verb,
        "user": {"username": f"user{n % 5}", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.1"],
        "userAgent": "kubectl/v1.29.0",
        "objectRef": {"resource": resource, "namespace": "default", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": draw(st.sampled_from([200, 201, 403, 404]))},
        "requestReceivedTimestamp": _iso(n),
        "stageTimestamp": _iso(n + 1),
    }
    if version == "v1beta1":
        record["timestamp"] = _iso(n).split(".")[0] + "Z"
        record["metadata"] = {"creationTimestamp": record["timestamp"]}
    return record


@st.composite
def zeek(draw: st.DrawFn, dialect: str = "_path", epoch: bool = False) -> Record:
    n = draw(st.integers(0, 10**6))
    log = draw(st.sampled_from(["conn", "dns", "http", "ssl", "known_services"]))
    seconds = 1_700_000_000 + n
    ts: object = float(f"{seconds}.{n % 999983:06d}") if epoch else _iso(n)
    sep = "." if dialect == "_path" else "_"
    record: Record = {dialect: log, "ts": ts, "uid": f"C{n:017d}"}
    record.update(
        {
            f"id{sep}orig_h": "10.0.0.4",
            f"id{sep}orig_p": 50000 + n % 1000,
            f"id{sep}resp_h": "10.0.0.9",
            f"id{sep}resp_p": 53,
            "proto": "udp",
        }
    )
    if log == "conn":
        record["duration"] = draw(st.floats(0, 100, allow_nan=False))
        record["service"] = draw(st.sampled_from(["dns", "krb,smb"]))
    if log == "known_services":
        record["service"] = ["HTTP"]
    if log == "ssl":
        record["version"] = "TLSv12"
    if dialect == "@stream":
        record["@system"] = "sensor1"
    return record


@st.composite
def windows(draw: st.DrawFn) -> Record:
    n = draw(st.integers(0, 10**6))
    channel, event_id = draw(
        st.sampled_from(
            [("Security", 4624), ("Security", 4688), ("Microsoft-Windows-Sysmon/Operational", 1)]
        )
    )
    record: Record = {
        "EventID": event_id,
        "Channel": channel,
        "Computer": "WS1",
        "Level": draw(st.sampled_from([0, 4, "4", "2"])),
        "Task": "12544",
        "Message": "An account was successfully logged on.",
        "SubjectUserName": f"user{n % 3}",
        "TokenElevationType": "%%1936",
    }
    form = draw(st.sampled_from(["TimeCreated", "SystemTime", "@timestamp"]))
    if form == "TimeCreated":
        record["TimeCreated"] = _iso(n)
    elif form == "SystemTime":
        record["TimeCreated"] = {"SystemTime": _iso(n)}
    else:
        record["@timestamp"] = _iso(n)
    return record


@st.composite
def ecs(draw: st.DrawFn, with_action: bool = True) -> Record:
    n = draw(st.integers(0, 10**6))
    if with_action:
        return {
            "@timestamp": _iso(n),
            "ecs": {"version": "8.11.0"},
            "event": {
                "action": draw(st.sampled_from(["user-login", "file-created"])),
                "category": ["authentication"],
                "outcome": draw(st.sampled_from(["success", "failure"])),
                "duration": n * 1000,
            },
            "user": {"name": f"user{n % 4}"},
            "service": {"name": "auth", "type": "system"},
            "log": {"level": "info"},
            "trace": {"id": f"{n:032x}"},
        }
    return {
        "@timestamp": _iso(n),
        "log.level": draw(st.sampled_from(["debug", "info", "warning", "error"])),
        "message": f"message {n}",
        "ecs.version": "1.6.0",
        "log": {"logger": "app", "origin": {"file": {"line": n % 100, "name": "app.py"}}},
        "process": {"pid": n % 30000},
    }


@st.composite
def suricata(draw: st.DrawFn) -> Record:
    n = draw(st.integers(0, 10**6))
    kind = draw(st.sampled_from(["alert", "flow", "dns", "http"]))
    record: Record = {
        "timestamp": _iso(n, zulu=False).replace("+00:00", "+0000"),
        "flow_id": 10**15 + n,
        "in_iface": "eth0",
        "event_type": kind,
        "src_ip": "192.168.1.5",
        "src_port": 40000 + n % 1000,
        "dest_ip": "192.0.2.1",
        "dest_port": 443,
        "proto": "TCP",
    }
    if kind == "alert":
        record["alert"] = {
            "action": "allowed",
            "signature_id": 2024833,
            "signature": "ET POLICY",
            "category": "Policy",
            "severity": draw(st.integers(1, 3)),
        }
    if kind == "http":
        record["http"] = {"hostname": "example.org", "url": "/", "status": 200}
    return record


@st.composite
def github(draw: st.DrawFn) -> Record:
    n = draw(st.integers(0, 10**6))
    kind = draw(st.sampled_from(["PushEvent", "IssuesEvent", "WatchEvent", "CreateEvent"]))
    record: Record = {
        "id": str(30_000_000_000 + n),
        "type": kind,
        "actor": {"id": n, "login": f"dev{n % 7}", "url": f"https://api.github.com/users/dev{n}"},
        "repo": {"id": n, "name": f"org/repo{n % 3}", "url": "https://api.github.com/repos/x"},
        "payload": {"action": "opened"} if kind == "IssuesEvent" else {"ref": "main"},
        "public": True,
        "created_at": _iso(n).split(".")[0] + "Z",
    }
    if draw(st.booleans()):
        record["org"] = {"id": 1, "login": "org"}
    return record


_attribute_keys = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
_attributes = st.dictionaries(_attribute_keys, _scalars, max_size=8)


@st.composite
def manufactory(draw: st.DrawFn) -> Record:
    """One record of a Manufactory shape (SPEC, Input), with any attributes."""
    n = draw(st.integers(0, 10**6))
    shape = draw(st.sampled_from(["wide", "collector", "rest"]))
    attributes = draw(_attributes)
    name = draw(st.sampled_from(["order.created", "login", "checkout"]))
    if shape == "wide":
        return {
            **attributes,
            "event_id": f"e{n}",
            "event_type": name,
            "timestamp_occurred": "2023-02-08 17:13:26",
        }
    if shape == "collector":
        return {
            "type": "event",
            "attributes": {**attributes, "event_name": name, "timestamp": _iso(n)},
            "org_id": "org1",
            "project_id": 12345,
            "actor_profile_id": f"a{n}",
            "client_uuid": f"c{n}",
        }
    return {
        "org_id": "org1",
        "project_id": 12345,
        "actor_profile": {"email": f"u{n}@example.com"},
        "attributes": {**attributes, "type": name, "timestamp": _iso(n)},
    }


#: (profile, dialect) -> a strategy for one record of it.
DIALECTS: dict[tuple[str, str], st.SearchStrategy[Record]] = {
    ("cloudtrail", "file"): cloudtrail(),
    ("cloudtrail", "ndjson"): cloudtrail(ndjson=True),
    ("k8s-audit", "v1"): k8s_audit("v1"),
    ("k8s-audit", "v1beta1"): k8s_audit("v1beta1"),
    ("zeek", "_path iso"): zeek("_path"),
    ("zeek", "_path epoch"): zeek("_path", epoch=True),
    ("zeek", "@stream epoch"): zeek("@stream", epoch=True),
    ("windows", "json"): windows(),
    ("ecs", "event.action"): ecs(with_action=True),
    ("ecs", "ecs-logging"): ecs(with_action=False),
    ("suricata", "eve"): suricata(),
    ("github", "events"): github(),
}
