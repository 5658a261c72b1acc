// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: FuzzEntryPoints.jwk (see Sources/Keybound/SPI/FuzzEntryPoints.swift).
import FuzzSupport
@_spi(Fuzzing) import Keybound

runFuzzer { data, size in
    _ = FuzzEntryPoints.jwk(fuzzInput(data, size))
    return 0
}
