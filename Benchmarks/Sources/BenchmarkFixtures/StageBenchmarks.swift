//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Benchmark

/// Registers one benchmark per case of a single stage (`BenchmarkStages` and the like): each scaled iteration runs
/// `stage` on the case's input and keeps the result alive with `blackHole`, so the optimiser cannot drop the work.
public func stageBenchmarks<Input: Sendable, Output>(
    _ cases: [(name: String, input: Input)],
    _ stage: @escaping @Sendable (Input) throws -> Output
) {
    for (name, input) in cases {
        Benchmark(name) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try stage(input)) }
        }
    }
}
