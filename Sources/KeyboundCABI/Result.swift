//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import CKeybound
import Keybound

/// What a `kb_result` holds: the outcome of the last verification, in byte buffers that are reused from one
/// verification to the next (they only grow), so that a warm verification allocates nothing here.
/// Used by one thread at a time (the header says so).
final class ResultBox: OpaqueHandle {
    /// One slot per `KB_FIELD_*` (index = field number), plus one for the last claim read.
    static let claimSlot = 14
    static let slotCount = 15

    var used = false
    var status: Int32 = Status.invalidArgument
    var httpStatus: Int32 = 0
    var hasExpiry = false
    var expiry: Double = 0
    /// The Retry-After of a 212, else 0.
    var retryAfter: Int64 = 0
    var slots = [OwnedBytes](repeating: OwnedBytes(), count: ResultBox.slotCount)
    /// The last successful verification, kept for claim lookups (it refers to the verifier's cached token).
    var verified: VerifiedRequest? = nil

    deinit {
        for index in slots.indices { slots[index].release() }
    }

    func reset() {
        used = true
        status = Status.invalidArgument
        httpStatus = 0
        hasExpiry = false
        expiry = 0
        retryAfter = 0
        verified = nil
        for index in slots.indices { slots[index].clear() }
    }

    func set(_ field: Int32, _ value: String?) {
        guard let value else { return }
        slots[Int(field)].set(value)
    }

    /// Records a success: the claims are copied into the result's own buffers.
    @unsafe
    func succeed(_ request: VerifiedRequest, noncesOn: Bool) {
        status = Status.ok
        httpStatus = 200
        set(Int32(KB_FIELD_SUB), request.subject)
        set(Int32(KB_FIELD_CLIENT_ID), request.clientID)
        set(Int32(KB_FIELD_SCOPE), request.scope)
        set(Int32(KB_FIELD_JKT), request.jkt)
        set(Int32(KB_FIELD_TOKEN_JTI), request.tokenJTI)
        set(Int32(KB_FIELD_ISSUER), request.issuer)
        _ = unsafe request.withProofJTIBytes { jti in unsafe slots[Int(KB_FIELD_PROOF_JTI)].set(jti) }
        if let exp = request.expiresAt {
            hasExpiry = true
            expiry = exp
        }
        if noncesOn { set(Int32(KB_FIELD_DPOP_NONCE), request.dpopNonce) }
        verified = request
    }

    /// Records a refusal: the status, its names, and the response values for the mode.
    func fail(_ code: Int32, reason: String, tokenEndpoint: Bool, challenge: String?, body: String?, nonce: String?) {
        status = code
        let entry = Status.entry(code)
        httpStatus = (tokenEndpoint ? entry?.tokenEndpointHTTPStatus : entry?.httpStatus) ?? 500
        if let entry {
            unsafe slots[Int(KB_FIELD_ERROR_NAME)].set(entry.name.bytes)
            if let rfcError = entry.rfcError { unsafe slots[Int(KB_FIELD_RFC_ERROR)].set(rfcError.bytes) }
        }
        set(Int32(KB_FIELD_ERROR_DESCRIPTION), reason)
        set(Int32(KB_FIELD_WWW_AUTHENTICATE), challenge)
        set(Int32(KB_FIELD_ERROR_BODY), body)
        set(Int32(KB_FIELD_DPOP_NONCE), nonce)
    }

    func fail(_ error: KeyboundError, verifier: Verifier, tokenEndpoint: Bool) {
        retryAfter = error.retryAfter ?? 0
        fail(Status.of(error), reason: error.reason, tokenEndpoint: tokenEndpoint,
             challenge: tokenEndpoint ? nil : verifier.wwwAuthenticate(for: error),
             body: tokenEndpoint ? Challenge.tokenEndpointErrorBody(for: error) : nil, nonce: error.dpopNonce)
    }

    func failInvalidArgument(_ reason: String) {
        fail(Status.invalidArgument, reason: reason, tokenEndpoint: false, challenge: nil, body: nil, nonce: nil)
    }
}

// MARK: - Verifying

enum RequestMode {
    case resource
    case tokenEndpoint
    case opaque
}

/// The one implementation behind `kb_verify`, `kb_verify_token_endpoint` and `kb_verify_opaque`: checks every C
/// argument, then calls the byte-level Swift entry point; nothing is kept after the call.
@unsafe
func verifyRequest(
    _ mode: RequestMode,
    _ verifier: OpaquePointer?,
    _ method: UnsafePointer<UInt8>?, _ methodLength: Int,
    _ url: UnsafePointer<UInt8>?, _ urlLength: Int,
    _ authorization: UnsafePointer<UInt8>?, _ authorizationLength: Int,
    _ dpop: UnsafePointer<UnsafePointer<UInt8>?>?, _ dpopLengths: UnsafePointer<Int>?, _ dpopCount: Int,
    _ boundJKT: UnsafePointer<UInt8>?, _ boundJKTLength: Int,
    _ requirements: UnsafePointer<kb_requirements>?,
    _ now: Int64,
    _ result: OpaquePointer?
) -> kb_status {
    guard let box = unsafe ResultBox.from(result) else { return Status.invalidArgument }
    box.reset()
    guard let verifierBox = unsafe VerifierBox.from(verifier) else {
        box.failInvalidArgument("verifier is NULL")
        return box.status
    }
    do throws(InvalidArgument) {
        let methodBytes = try unsafe cBuffer(method, methodLength)
        let urlBytes = try unsafe cBuffer(url, urlLength)
        let authorizationBytes = try unsafe cOptionalBuffer(authorization, authorizationLength)
        guard dpopCount >= 0 else { throw InvalidArgument() }
        var firstProof: UnsafeRawBufferPointer? = nil
        if dpopCount > 0 {
            guard let dpop = unsafe dpop, let dpopLengths = unsafe dpopLengths else { throw InvalidArgument() }
            // Every value is checked, though only the first is read when there is one.
            for index in 0..<dpopCount {
                let value = try unsafe cBuffer(dpop[index], dpopLengths[index])
                if index == 0 { unsafe firstProof = value }
            }
        }
        let verificationMode: VerificationMode
        switch mode {
        case .resource: verificationMode = .resource
        case .tokenEndpoint: verificationMode = .tokenEndpoint
        case .opaque: verificationMode = .opaqueToken(boundJKT: try unsafe cString(boundJKT, boundJKTLength))
        }
        let needs = try unsafe readRequirements(requirements)
        do throws(KeyboundError) {
            let verified = try unsafe verifierBox.verifier.verify(
                method: methodBytes, url: urlBytes, authorization: authorizationBytes, dpopCount: dpopCount,
                firstProof: firstProof, mode: verificationMode, requirements: needs, now: verifierBox.time(now))
            unsafe box.succeed(verified, noncesOn: verifierBox.noncesOn)
        } catch {
            box.fail(error, verifier: verifierBox.verifier, tokenEndpoint: mode == .tokenEndpoint)
        }
    } catch {
        box.failInvalidArgument("an argument is NULL or a length is invalid")
    }
    return box.status
}

@c @implementation
public func kb_verify(
    _ verifier: OpaquePointer?,
    _ method: UnsafePointer<UInt8>?, _ methodLength: Int,
    _ url: UnsafePointer<UInt8>?, _ urlLength: Int,
    _ authorization: UnsafePointer<UInt8>?, _ authorizationLength: Int,
    _ dpop: UnsafePointer<UnsafePointer<UInt8>?>?, _ dpopLengths: UnsafePointer<Int>?, _ dpopCount: Int,
    _ now: Int64,
    _ result: OpaquePointer?
) -> kb_status {
    unsafe verifyRequest(.resource, verifier, method, methodLength, url, urlLength, authorization, authorizationLength,
                         dpop, dpopLengths, dpopCount, nil, 0, nil, now, result)
}

/// The Swift ``Requirements`` of a caller's `kb_requirements` (NULL, or one requiring nothing: ``Requirements/none``,
/// without allocating).
@unsafe
func readRequirements(_ pointer: UnsafePointer<kb_requirements>?) throws(InvalidArgument) -> Requirements {
    guard let pointer = unsafe pointer else { return .none }
    guard let table = unsafe AppendOnly.read(pointer) else { throw InvalidArgument() }
    // Safe because `table` is a copy of the caller's struct; its pointers are read through cString only.
    let flags = unsafe table.flags
    guard flags & ~UInt32(KB_REQUIRE_MAX_AGE) == 0 else { throw InvalidArgument() }
    let wantsMaxAge = flags & UInt32(KB_REQUIRE_MAX_AGE) != 0
    let maxAge = unsafe table.max_age
    let scopeLength = unsafe table.scope_len
    let acrLength = unsafe table.acr_values_len
    if !wantsMaxAge && scopeLength == 0 && acrLength == 0 { return .none }
    guard !wantsMaxAge || maxAge >= 0 else { throw InvalidArgument() }
    func words(_ text: String) -> [String] { text.split(separator: " ").map(String.init) }
    let scope = try unsafe cString(table.scope, scopeLength)
    let acrValues = try unsafe cString(table.acr_values, acrLength)
    return Requirements(scopes: words(scope), maxAge: wantsMaxAge ? maxAge : nil, acrValues: words(acrValues))
}

@c @implementation
public func kb_verify_with_requirements(
    _ verifier: OpaquePointer?,
    _ method: UnsafePointer<UInt8>?, _ methodLength: Int,
    _ url: UnsafePointer<UInt8>?, _ urlLength: Int,
    _ authorization: UnsafePointer<UInt8>?, _ authorizationLength: Int,
    _ dpop: UnsafePointer<UnsafePointer<UInt8>?>?, _ dpopLengths: UnsafePointer<Int>?, _ dpopCount: Int,
    _ requirements: UnsafePointer<kb_requirements>?,
    _ now: Int64,
    _ result: OpaquePointer?
) -> kb_status {
    unsafe verifyRequest(.resource, verifier, method, methodLength, url, urlLength, authorization, authorizationLength,
                         dpop, dpopLengths, dpopCount, nil, 0, requirements, now, result)
}

@c @implementation
public func kb_verify_token_endpoint(
    _ verifier: OpaquePointer?,
    _ method: UnsafePointer<UInt8>?, _ methodLength: Int,
    _ url: UnsafePointer<UInt8>?, _ urlLength: Int,
    _ dpop: UnsafePointer<UnsafePointer<UInt8>?>?, _ dpopLengths: UnsafePointer<Int>?, _ dpopCount: Int,
    _ now: Int64,
    _ result: OpaquePointer?
) -> kb_status {
    unsafe verifyRequest(.tokenEndpoint, verifier, method, methodLength, url, urlLength, nil, 0,
                         dpop, dpopLengths, dpopCount, nil, 0, nil, now, result)
}

@c @implementation
public func kb_verify_opaque(
    _ verifier: OpaquePointer?,
    _ method: UnsafePointer<UInt8>?, _ methodLength: Int,
    _ url: UnsafePointer<UInt8>?, _ urlLength: Int,
    _ authorization: UnsafePointer<UInt8>?, _ authorizationLength: Int,
    _ dpop: UnsafePointer<UnsafePointer<UInt8>?>?, _ dpopLengths: UnsafePointer<Int>?, _ dpopCount: Int,
    _ boundJKT: UnsafePointer<UInt8>?, _ boundJKTLength: Int,
    _ now: Int64,
    _ result: OpaquePointer?
) -> kb_status {
    unsafe verifyRequest(.opaque, verifier, method, methodLength, url, urlLength, authorization, authorizationLength,
                         dpop, dpopLengths, dpopCount, boundJKT, boundJKTLength, nil, now, result)
}

// MARK: - Result exports

@c @implementation
public func kb_result_new(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> kb_status {
    unsafe ResultBox.publish(ResultBox(), to: out)
}

@c @implementation
public func kb_result_free(_ result: OpaquePointer?) {
    unsafe ResultBox.release(result)
}

@c @implementation
public func kb_result_status(_ result: OpaquePointer?) -> kb_status {
    guard let box = unsafe ResultBox.from(result), box.used else { return Status.invalidArgument }
    return box.status
}

@c @implementation
public func kb_result_http_status(_ result: OpaquePointer?) -> Int32 {
    guard let box = unsafe ResultBox.from(result), box.used else { return 0 }
    return box.httpStatus
}

/// Writes a slot's view to the caller's out-parameters (NULL/0 when absent).
@unsafe
func writeView(_ slot: OwnedBytes, _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>, _ length: UnsafeMutablePointer<Int>) {
    if slot.isPresent, let base = unsafe slot.base {
        unsafe out.pointee = UnsafePointer(base.assumingMemoryBound(to: UInt8.self))
        unsafe length.pointee = slot.count
    } else {
        unsafe out.pointee = nil
        unsafe length.pointee = 0
    }
}

@c @implementation
public func kb_result_field(
    _ result: OpaquePointer?,
    _ field: kb_field,
    _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<Int>?
) -> kb_status {
    guard let box = unsafe ResultBox.from(result), let out = unsafe out, let outLength = unsafe outLength,
        field >= Int32(KB_FIELD_SUB) && field <= Int32(KB_FIELD_ERROR_BODY)
    else { return Status.invalidArgument }
    unsafe writeView(box.slots[Int(field)], out, outLength)
    return Status.ok
}

@c @implementation
public func kb_result_retry_after(_ result: OpaquePointer?, _ seconds: UnsafeMutablePointer<Int64>?) -> kb_status {
    guard let box = unsafe ResultBox.from(result), let seconds = unsafe seconds else { return Status.invalidArgument }
    unsafe seconds.pointee = box.retryAfter
    return Status.ok
}

@c @implementation
public func kb_result_exp(
    _ result: OpaquePointer?,
    _ present: UnsafeMutablePointer<Int32>?,
    _ exp: UnsafeMutablePointer<Double>?
) -> kb_status {
    guard let box = unsafe ResultBox.from(result), let present = unsafe present, let exp = unsafe exp else {
        return Status.invalidArgument
    }
    unsafe present.pointee = box.hasExpiry ? 1 : 0
    unsafe exp.pointee = box.hasExpiry ? box.expiry : 0
    return Status.ok
}

@c @implementation
public func kb_result_claim(
    _ result: OpaquePointer?,
    _ name: UnsafePointer<UInt8>?, _ nameLength: Int,
    _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<Int>?
) -> kb_status {
    guard let box = unsafe ResultBox.from(result), let out = unsafe out, let outLength = unsafe outLength,
        let nameBytes = try? unsafe cBuffer(name, nameLength)
    else { return Status.invalidArgument }
    box.slots[ResultBox.claimSlot].clear()
    if let verified = box.verified {
        unsafe verified.withClaimJSON(nameBytes) { json in
            if let json = unsafe json { unsafe box.slots[ResultBox.claimSlot].set(json) }
        }
    }
    unsafe writeView(box.slots[ResultBox.claimSlot], out, outLength)
    return Status.ok
}

/// The frame both typed claim readers share: with no verified JWT in the result the claim is absent (`KB_OK`); else
/// `read` answers `nil` for an absent claim or the status of a present one, and a wrong JSON type is its status too
/// (`KB_ERR_TOKEN_CLAIMS`), `*present` 1.
@unsafe
func readTypedClaim(
    _ box: ResultBox,
    _ present: UnsafeMutablePointer<Int32>,
    _ read: (VerifiedRequest) throws(KeyboundError) -> kb_status?
) -> kb_status {
    guard let verified = box.verified else { return Status.ok }
    let status: kb_status?
    do throws(KeyboundError) {
        status = try read(verified)
    } catch {
        status = Status.of(error)
    }
    guard let status else { return Status.ok }
    unsafe present.pointee = 1
    return status
}

@c @implementation
public func kb_result_claim_string(
    _ result: OpaquePointer?,
    _ name: UnsafePointer<UInt8>?, _ nameLength: Int,
    _ present: UnsafeMutablePointer<Int32>?,
    _ out: UnsafeMutablePointer<UInt8>?, _ outCapacity: Int,
    _ outLength: UnsafeMutablePointer<Int>?
) -> kb_status {
    guard let box = unsafe ResultBox.from(result), let present = unsafe present, let outLength = unsafe outLength,
        let nameBytes = try? unsafe cBuffer(name, nameLength), outCapacity >= 0, unsafe out != nil || outCapacity == 0
    else { return Status.invalidArgument }
    unsafe present.pointee = 0
    unsafe outLength.pointee = 0
    return unsafe readTypedClaim(box, present) { (verified) throws(KeyboundError) -> kb_status? in
        try unsafe verified.withClaimString(nameBytes) { text -> kb_status? in
            guard let text = unsafe text else { return nil }
            unsafe outLength.pointee = text.count
            guard text.count <= outCapacity else { return Status.bufferTooSmall }
            if let out = unsafe out, let base = unsafe text.baseAddress, text.count > 0 {
                unsafe out.update(from: base.assumingMemoryBound(to: UInt8.self), count: text.count)
            }
            return Status.ok
        }
    }
}

@c @implementation
public func kb_result_claim_int64(
    _ result: OpaquePointer?,
    _ name: UnsafePointer<UInt8>?, _ nameLength: Int,
    _ present: UnsafeMutablePointer<Int32>?,
    _ value: UnsafeMutablePointer<Int64>?
) -> kb_status {
    guard let box = unsafe ResultBox.from(result), let present = unsafe present, let value = unsafe value,
        let nameBytes = try? unsafe cBuffer(name, nameLength)
    else { return Status.invalidArgument }
    unsafe present.pointee = 0
    unsafe value.pointee = 0
    return unsafe readTypedClaim(box, present) { (verified) throws(KeyboundError) -> kb_status? in
        guard let integer = try unsafe verified.int64Claim(nameBytes) else { return nil }
        unsafe value.pointee = integer
        return Status.ok
    }
}
