// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: FuzzEntryPoints.compactJWS (see Sources/Keybound/SPI/FuzzEntryPoints.swift).
import FuzzSupport
@_spi(Fuzzing) import Keybound

runFuzzer { data, size in
    _ = FuzzEntryPoints.compactJWS(fuzzInput(data, size))
    return 0
}
