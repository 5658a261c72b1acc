//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import Keybound
public import Prometheus
import Synchronization

/// keybound-serve's Prometheus metrics (`GET /metrics`, text format 0.0.4; docs/sidecar.md lists them).
///
/// The hot path costs three relaxed atomic additions and no lock or allocation: the answer counter by status (from a
/// table made at start-up), and the answer-time histogram's bucket and sum (``AnswerDurations``). Everything the
/// verifier counts itself (refusals by code, proof-key cache hits and misses) and the replay fill are read when
/// scraped, so verifying pays nothing more for them. Counters stay monotonic across
/// reloads: a verifier's counts are kept when it is replaced.
public final class ServeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// Answers by the status keybound-serve means (the real status, also for nginx's 401 carrier), per known status.
    let answers: [Int: Counter]
    let otherAnswers: Counter
    let latency = AnswerDurations()
    let keyEvents: Mutex<[String: Counter]>
    let reloads: [Bool: Counter]
    /// The verifier counts already exported, per series, so that a scrape adds only the increase.
    let exported: Mutex<Exported>

    struct Exported {
        /// The counts of the verifiers replaced by reloads.
        var retired = Totals()
        /// What the counters hold now.
        var sent = Totals()
    }

    /// What the verifiers counted: refusals by code name, proof-key cache hits and misses.
    struct Totals {
        var refusals: [String: Int] = [:]
        var proofKeyHits = 0
        var proofKeyMisses = 0

        mutating func add(_ metrics: VerifierMetrics) {
            for (code, count) in metrics.refused { refusals[code.name, default: 0] += count }
            proofKeyHits += metrics.proofKeyCacheHits
            proofKeyMisses += metrics.proofKeyCacheMisses
        }
    }

    /// The statuses an answer can carry (docs/sidecar.md, "Answers").
    static let statuses = [200, 400, 401, 403, 429, 500, 503]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func counter(_ name: String, _ help: String, _ labels: [(String, String)]) -> Counter {
            registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    namespace: "keybound_serve", metricName: name, unitName: "total", helpText: help),
                labels: labels)
        }
        let answersHelp = "Auth answers by the status keybound-serve means (nginx receives refusals as 401)."
        var answers: [Int: Counter] = [:]
        for status in Self.statuses { answers[status] = counter("answers", answersHelp, [("status", String(status))]) }
        self.answers = answers
        otherAnswers = counter("answers", answersHelp, [("status", "other")])
        let reloadHelp = "Configuration loads after the first (SIGHUP), by result."
        reloads = [true: counter("reloads", reloadHelp, [("result", "ok")]),
                   false: counter("reloads", reloadHelp, [("result", "failed")])]
        keyEvents = Mutex([:])
        exported = Mutex(Exported())
        // Exposed from the start, at 0.
        _ = proofKeyCounter("hits")
        _ = proofKeyCounter("misses")
    }

    /// Counts one answer and how long it took.
    func record(status: Int, duration: Duration) {
        (answers[status] ?? otherAnswers).increment()
        latency.record(duration)
    }

    func recordReload(ok: Bool) { reloads[ok]?.increment() }

    /// Counts a remote key-set fetch: `installed` (new keys in force) or `failed` (the old keys stay).
    func recordKeyFetch(issuer: String, installed: Bool) {
        let result = installed ? "installed" : "failed"
        let counter = keyEvents.withLock { counters in
            let key = issuer + "\u{0}" + result
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    namespace: "keybound_serve", metricName: "key_refreshes", unitName: "total",
                    helpText: "Remote key-set fetches after the first, by issuer and result."),
                labels: [("issuer", issuer), ("result", result)])
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    /// Keeps the counts of a verifier that a reload replaces.
    func retire(_ verifier: Verifier) {
        let metrics = verifier.metrics
        exported.withLock { $0.retired.add(metrics) }
    }

    /// The text exposition, with the verifier's counts and the replay fill brought up to date first.
    ///
    /// - Parameters:
    ///   - verifier: the verifier in force (`nil` before the first load).
    ///   - replay: the in-process replay cache (in front of Redis when Redis is the store).
    public func scrape(verifier: Verifier?, replay: ReplayCache) -> String {
        // Under one lock, so that concurrent scrapes and a reload's `retire` add each count once. `sent` only grows:
        // while a reload is between swapping the verifier and retiring the old one, the sum may dip, and the
        // counters then wait for it to come back rather than count the difference twice.
        let totals = exported.withLock { state in
            var totals = state.retired
            if let verifier { totals.add(verifier.metrics) }
            for (code, count) in totals.refusals where count > state.sent.refusals[code, default: 0] {
                registry.makeCounter(
                    descriptor: MetricNameDescriptor(
                        namespace: "keybound_serve", metricName: "refusals", unitName: "total",
                        helpText: "Verifications refused, by Keybound error code name."),
                    labels: [("code", code)]
                ).increment(by: Int64(count - state.sent.refusals[code, default: 0]))
                state.sent.refusals[code] = count
            }
            if totals.proofKeyHits > state.sent.proofKeyHits {
                proofKeyCounter("hits").increment(by: Int64(totals.proofKeyHits - state.sent.proofKeyHits))
                state.sent.proofKeyHits = totals.proofKeyHits
            }
            if totals.proofKeyMisses > state.sent.proofKeyMisses {
                proofKeyCounter("misses").increment(by: Int64(totals.proofKeyMisses - state.sent.proofKeyMisses))
                state.sent.proofKeyMisses = totals.proofKeyMisses
            }
            return totals
        }
        gauge("replay_entries", "Entries in the in-process replay cache (live and not yet reclaimed).")
            .set(Int64(replay.count))
        gauge("replay_capacity", "The in-process replay cache's capacity.").set(Int64(replay.capacity))
        let lookups = totals.proofKeyHits + totals.proofKeyMisses
        gauge("proof_key_cache_hit_ratio", "Proof-key cache hits over lookups since start (0 before any lookup).")
            .set(lookups == 0 ? 0 : Double(totals.proofKeyHits) / Double(lookups))
        return registry.emitToString() + latency.exposition()
    }

    func proofKeyCounter(_ result: String) -> Counter {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "keybound_serve", metricName: "proof_key_cache", unitName: "total",
                helpText: "Proof-key cache lookups, by result."),
            labels: [("result", result)])
    }

    func gauge(_ name: String, _ help: String) -> Gauge {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "keybound_serve", metricName: name, unitName: "", helpText: help),
            labels: [])
    }
}

/// `keybound_serve_answer_duration_seconds`: a Prometheus histogram kept in atomics (swift-prometheus's takes a
/// lock per record). Each answer adds 1 to its own bucket and its nanoseconds to the sum; the cumulative counts, the
/// count and the sum are formed when scraped (a scrape racing answers may see a bucket and the sum one answer apart).
final class AnswerDurations: Sendable {
    /// The buckets' upper bounds, nanoseconds: 50 µs to 1 s.
    static let bounds: [Int64] = [
        50_000, 100_000, 250_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 25_000_000, 100_000_000,
        250_000_000, 1_000_000_000,
    ]

    final class Cell: Sendable {
        let value = Atomic<Int64>(0)
    }

    /// One cell per bound, then one for everything above the last.
    let buckets: [Cell] = (0...AnswerDurations.bounds.count).map { _ in Cell() }
    let sumNanoseconds = Cell()

    func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = max(0, seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000)
        let index = Self.bounds.firstIndex { nanoseconds <= $0 } ?? Self.bounds.count
        buckets[index].value.wrappingAdd(1, ordering: .relaxed)
        sumNanoseconds.value.wrappingAdd(nanoseconds, ordering: .relaxed)
    }

    /// The text exposition (format 0.0.4).
    func exposition() -> String {
        let name = "keybound_serve_answer_duration_seconds"
        var text = "# HELP \(name) Time to answer one auth sub-request, verification included.\n"
        text += "# TYPE \(name) histogram\n"
        var cumulative: Int64 = 0
        for (index, bound) in Self.bounds.enumerated() {
            cumulative += buckets[index].value.load(ordering: .relaxed)
            text += "\(name)_bucket{le=\"\(Double(bound) / 1e9)\"} \(cumulative)\n"
        }
        cumulative += buckets[Self.bounds.count].value.load(ordering: .relaxed)
        text += "\(name)_bucket{le=\"+Inf\"} \(cumulative)\n"
        text += "\(name)_sum \(Double(sumNanoseconds.value.load(ordering: .relaxed)) / 1e9)\n"
        text += "\(name)_count \(cumulative)\n"
        return text
    }
}
