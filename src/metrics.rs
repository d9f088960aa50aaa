//! Prometheus metrics: HTTP requests and latency, the log's size, sequencing rounds.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route pattern, not the raw path, so that the label set stays small.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<RouteLabels, Histogram>,
    pub log_size: Gauge<u64, AtomicU64>,
    pub rounds: Counter,
    pub round_entries: Histogram,
    pub round_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("provenance");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let log_size = Gauge::<u64, AtomicU64>::default();
        let rounds = Counter::default();
        let round_entries = Histogram::new(exponential_buckets(1.0, 2.0, 14));
        let round_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            request_seconds.clone(),
        );
        registry.register("log_size", "Entries in the log", log_size.clone());
        registry.register(
            "sequencing_rounds",
            "Sequencing rounds committed",
            rounds.clone(),
        );
        registry.register(
            "sequencing_round_entries",
            "Entries integrated per round",
            round_entries.clone(),
        );
        registry.register(
            "sequencing_round_duration_seconds",
            "Time from a round's start to its commit",
            round_seconds.clone(),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            log_size,
            rounds,
            round_entries,
            round_seconds,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}
