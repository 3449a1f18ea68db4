"""The fixed world the demo export describes: services, regions, event types, failures, traces.

Everything here is static data; what varies with the seed (actors, projects, rollouts)
is derived from it in :mod:`mfq.demo.world`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    """A service that emits events, with its latency profile and relative error rate."""

    name: str
    #: Versions in rollout order: the first one runs at the start, later ones roll out.
    versions: tuple[str, ...]
    #: Median of the service's own processing time (lognormal), in milliseconds.
    median_ms: float
    #: Spread of the lognormal latency (sigma of the underlying normal).
    sigma: float
    #: Multiplier of the configured base error rate.
    error_weight: float


@dataclass(frozen=True)
class Region:
    """A deployment region with its share of traffic and the UTC hour its traffic peaks."""

    name: str
    share: float
    peak_hour_utc: float
    currency: str


@dataclass(frozen=True)
class EventType:
    """An event type, the service that emits it and how it is served."""

    name: str
    service: str
    #: Popularity rank for standalone events (1 is the most frequent; Zipf weights).
    rank: int
    #: HTTP method and route, or None for internal (non-HTTP) events.
    method: str | None
    route: str | None
    message: str
    #: Type-specific attributes, names of :data:`mfq.demo.encoding.EXTRA_FIELDS`.
    extras: tuple[str, ...] = ()
    #: Whether the event concerns an end user (carries ``user_id``).
    has_user: bool = True
    #: False for the steps of order journeys only (:mod:`mfq.demo.journeys`): never drawn
    #: as standalone events or trace spans.
    standalone: bool = True


@dataclass(frozen=True)
class Failure:
    """A server-side failure: status "error", an HTTP 5xx and an ``error_code``."""

    code: str
    http_status: int
    weight: float
    description: str
    #: Timeouts take the timeout's time instead of the usual latency.
    timeout: bool = False


@dataclass(frozen=True)
class ClientError:
    """A rejected request (HTTP 4xx): status "ok", severity "warn"."""

    http_status: int
    weight: float
    description: str


@dataclass(frozen=True)
class TraceTemplate:
    """The shape of a multi-span trace: a gateway request and the calls it makes.

    ``spans`` lists (event type, parent position) in pre-order, the root first with
    parent -1; children of one parent run one after the other.
    """

    name: str
    weight: float
    method: str
    route: str
    spans: tuple[tuple[str, int], ...]


SERVICES: tuple[Service, ...] = (
    Service("gateway", ("1.18.2", "1.19.0"), 3.0, 0.5, 0.6),
    Service("checkout", ("2.3.9", "2.4.0", "2.4.1"), 45.0, 0.55, 1.0),
    Service("payments", ("3.11.4", "3.12.0"), 140.0, 0.6, 1.6),
    Service("inventory", ("1.7.3", "1.8.0", "1.8.1"), 18.0, 0.5, 0.9),
    Service("search", ("5.2.0", "5.3.0"), 60.0, 0.7, 0.7),
    Service("auth", ("4.0.2", "4.1.0"), 25.0, 0.45, 1.0),
    Service("notifications", ("0.9.4", "1.0.0"), 90.0, 0.8, 1.5),
    Service("catalog", ("2.1.0", "2.2.0", "2.2.1"), 12.0, 0.5, 0.6),
    # Emits only the steps of order journeys (mfq.demo.journeys); last, so the other
    # services' indices, rollouts and events stay as they were before journeys.
    Service("orders", ("3.0.2", "3.1.0"), 35.0, 0.5, 0.8),
)

REGIONS: tuple[Region, ...] = (
    Region("eu-west-1", 0.36, 13.0, "EUR"),
    Region("us-east-1", 0.34, 18.0, "USD"),
    Region("us-west-2", 0.16, 21.0, "USD"),
    Region("ap-southeast-1", 0.14, 5.0, "SGD"),
)

ENVIRONMENTS: tuple[str, ...] = ("prod", "staging")

EVENT_TYPES: tuple[EventType, ...] = (
    EventType(
        "product.viewed", "catalog", 1, "GET", "/api/products/{id}", "product page served", ("sku",)
    ),
    EventType(
        "search.performed",
        "search",
        2,
        "GET",
        "/api/search",
        "search results returned",
        ("results_count", "query_length"),
    ),
    EventType("cart.updated", "checkout", 3, "PUT", "/api/cart", "cart updated", ("cart_items",)),
    EventType("http.request", "gateway", 4, "GET", "/api/config", "request served", ()),
    EventType(
        "session.refreshed", "auth", 5, "POST", "/api/session/refresh", "session refreshed", ()
    ),
    EventType("user.login", "auth", 6, "POST", "/api/login", "user logged in", ("auth_method",)),
    EventType(
        "cart.item_added",
        "checkout",
        7,
        "POST",
        "/api/cart/items",
        "item added to cart",
        ("sku", "quantity"),
    ),
    EventType(
        "inventory.checked",
        "inventory",
        8,
        "GET",
        "/api/inventory/{sku}",
        "stock level checked",
        ("sku",),
    ),
    EventType(
        "recommendation.served",
        "search",
        9,
        "GET",
        "/api/recommendations",
        "recommendations served",
        ("results_count",),
    ),
    EventType(
        "checkout.started",
        "checkout",
        10,
        "POST",
        "/api/checkout",
        "checkout started",
        ("cart_items",),
    ),
    EventType(
        "price.calculated",
        "catalog",
        11,
        None,
        None,
        "price calculated",
        ("sku", "currency"),
        has_user=False,
    ),
    EventType(
        "order.created",
        "checkout",
        12,
        "POST",
        "/api/orders",
        "order created",
        ("order_id", "amount", "currency"),
    ),
    EventType(
        "payment.authorized",
        "payments",
        13,
        "POST",
        "/api/payments/authorize",
        "payment authorized",
        ("order_id", "amount", "currency", "payment_method"),
    ),
    EventType(
        "inventory.reserved",
        "inventory",
        14,
        None,
        None,
        "stock reserved for order",
        ("order_id", "sku", "quantity"),
    ),
    EventType("email.sent", "notifications", 15, None, None, "email sent", ("template",)),
    EventType("push.sent", "notifications", 16, None, None, "push notification sent", ("device",)),
    EventType("user.logout", "auth", 17, "POST", "/api/logout", "user logged out", ()),
    EventType(
        "payment.captured",
        "payments",
        18,
        None,
        None,
        "payment captured",
        ("order_id", "amount", "currency"),
    ),
    EventType(
        "fraud.checked",
        "payments",
        19,
        None,
        None,
        "fraud check passed",
        ("order_id", "risk_score"),
    ),
    EventType(
        "order.shipped",
        "inventory",
        20,
        None,
        None,
        "order handed to carrier",
        ("order_id", "carrier"),
    ),
    EventType("user.signup", "auth", 21, "POST", "/api/signup", "user signed up", ("auth_method",)),
    EventType(
        "coupon.applied",
        "checkout",
        22,
        "POST",
        "/api/cart/coupon",
        "coupon applied",
        ("coupon_code",),
    ),
    EventType(
        "refund.issued",
        "payments",
        23,
        "POST",
        "/api/refunds",
        "refund issued",
        ("order_id", "amount", "currency"),
    ),
    EventType(
        "product.updated",
        "catalog",
        24,
        "PUT",
        "/api/products/{id}",
        "product updated",
        ("sku",),
        has_user=False,
    ),
    EventType(
        "stock.replenished",
        "inventory",
        25,
        None,
        None,
        "stock replenished",
        ("sku", "quantity"),
        has_user=False,
    ),
    EventType(
        "password.reset", "auth", 26, "POST", "/api/password/reset", "password reset requested", ()
    ),
    EventType("sms.sent", "notifications", 27, None, None, "sms sent", ("template",)),
    EventType(
        "order.placed",
        "orders",
        28,
        "POST",
        "/api/orders",
        "order placed",
        ("order_id", "amount", "currency"),
        has_user=False,
        standalone=False,
    ),
    EventType(
        "order.paid",
        "orders",
        29,
        "POST",
        "/api/orders/{id}/pay",
        "payment captured for order",
        ("order_id", "amount", "currency", "payment_method"),
        has_user=False,
        standalone=False,
    ),
    EventType(
        "order.payment_declined",
        "orders",
        30,
        "POST",
        "/api/orders/{id}/pay",
        "payment declined",
        ("order_id", "amount", "currency", "payment_method"),
        has_user=False,
        standalone=False,
    ),
    EventType(
        "order.cancelled",
        "orders",
        31,
        "POST",
        "/api/orders/{id}/cancel",
        "order cancelled",
        ("order_id",),
        has_user=False,
        standalone=False,
    ),
    EventType(
        "order.packed",
        "orders",
        32,
        None,
        None,
        "order packed",
        ("order_id", "sku", "quantity"),
        has_user=False,
        standalone=False,
    ),
    EventType(
        "order.dispatched",
        "orders",
        33,
        None,
        None,
        "order dispatched to the carrier",
        ("order_id", "carrier"),
        has_user=False,
        standalone=False,
    ),
)

#: Server-side failures at the base error rate, by relative weight.
FAILURES: tuple[Failure, ...] = (
    Failure("internal_error", 500, 0.35, "unhandled exception"),
    Failure("upstream_timeout", 504, 0.25, "upstream call timed out", timeout=True),
    Failure("dependency_unavailable", 502, 0.2, "dependency unavailable"),
    Failure("db_timeout", 503, 0.2, "database query timed out", timeout=True),
)

#: The failure the planted incident produces.
INCIDENT_FAILURE = Failure("db_pool_exhausted", 503, 0.0, "database connection pool exhausted")

CLIENT_ERRORS: tuple[ClientError, ...] = (
    ClientError(400, 0.4, "invalid request"),
    ClientError(401, 0.2, "unauthorized"),
    ClientError(404, 0.3, "not found"),
    ClientError(429, 0.1, "rate limited"),
    # Only order journeys decline payments (weight 0: never drawn for other events).
    ClientError(402, 0.0, "payment declined"),
)

#: The client error a declined payment gets.
PAYMENT_DECLINED = len(CLIENT_ERRORS) - 1

TRACE_TEMPLATES: tuple[TraceTemplate, ...] = (
    TraceTemplate(
        "checkout",
        0.25,
        "POST",
        "/api/checkout",
        (
            ("http.request", -1),
            ("session.refreshed", 0),
            ("checkout.started", 0),
            ("inventory.reserved", 2),
            ("payment.authorized", 2),
            ("fraud.checked", 4),
            ("order.created", 2),
            ("email.sent", 0),
        ),
    ),
    TraceTemplate(
        "search",
        0.3,
        "GET",
        "/api/search",
        (
            ("http.request", -1),
            ("search.performed", 0),
            ("price.calculated", 1),
            ("recommendation.served", 0),
        ),
    ),
    TraceTemplate(
        "product",
        0.25,
        "GET",
        "/api/products/{id}",
        (
            ("http.request", -1),
            ("product.viewed", 0),
            ("inventory.checked", 1),
            ("recommendation.served", 0),
        ),
    ),
    TraceTemplate(
        "cart",
        0.1,
        "PUT",
        "/api/cart",
        (
            ("http.request", -1),
            ("cart.updated", 0),
            ("inventory.checked", 1),
        ),
    ),
    TraceTemplate(
        "login",
        0.1,
        "POST",
        "/api/login",
        (
            ("http.request", -1),
            ("user.login", 0),
            ("push.sent", 1),
        ),
    ),
)

#: Organisations owning the projects (the first owns most of them).
ORGS: tuple[str, ...] = ("org_acme", "org_globex", "org_initech")

#: Zipf exponent of event-type popularity.
TYPE_ZIPF_EXPONENT = 1.05
#: Zipf exponent of actor and project activity.
ACTIVITY_ZIPF_EXPONENT = 1.1
#: Traffic on Saturday and Sunday relative to a weekday.
WEEKEND_FACTOR = 0.65
#: Share of a region's peak traffic that remains at its quietest hour.
NIGHT_FLOOR = 0.15
#: Timeouts last about this long.
TIMEOUT_MS = 3000.0
#: No span takes longer than this itself (a hard timeout), which bounds a trace's length.
SPAN_CAP_MS = 10_000.0
#: A span whose own time exceeds this multiple of its service's median is logged as "warn".
SLOW_FACTOR = 4.0
