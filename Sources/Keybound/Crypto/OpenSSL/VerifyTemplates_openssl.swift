//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if OpenSSL
internal import COpenSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-thread template verification contexts (docs/design.md "Performance model").
///
/// `EVP_DigestVerifyInit` looks the signature algorithm up in the provider and builds its context on every call:
/// about 15 % of an RSA verify and a few percent of an ECDSA one, and it scales poorly across threads. For a key
/// verified more than once on a thread (a returning client's proof key, an issuer's key), the thread keeps one
/// context initialised for that key, digest and padding, and each verify copies it (`EVP_MD_CTX_copy_ex`) into the
/// thread's work context instead of initialising again.
///
/// Layout: a small direct-mapped table per thread, indexed by the `EVP_PKEY` address. A template holds a reference
/// to its key (`EVP_DigestVerifyInit` takes one), so a key address found in the table cannot have been freed and
/// reused: a match is the same key. A key's first verify on a thread uses a fresh context and only marks its slot
/// (`seen`); its second builds the template (evicting the slot's previous one), so from then on a returning client
/// costs one copy and no initialisation, while a key seen once (a new client's first request) costs exactly a fresh
/// context and evicts no template.
///
/// - Note: Nothing is shared between threads; the table is freed with its thread.
enum VerifyTemplates {
    /// Table entries per thread (a power of two).
    static let slotCount = 16

    /// One table slot.
    @unsafe
    struct Slot {
        /// The initialised template, or nil.
        var template: OpaquePointer?
        /// The key, digest and padding the template was initialised for.
        var key: OpaquePointer?
        var md: OpaquePointer?
        var pss: Bool
        /// The address of the last key that came to this slot without a template: its next verify builds one. An
        /// address only, never dereferenced: a freed key's address reused by a new key merely builds a template early.
        var seen: UInt
    }

    /// The per-thread block: the work context, then the slots.
    @unsafe
    struct Block {
        var work: OpaquePointer?
        var slots: (Slot, Slot, Slot, Slot, Slot, Slot, Slot, Slot, Slot, Slot, Slot, Slot, Slot, Slot, Slot, Slot)
    }

    /// Returns the thread's work context, initialised for `key`/`md`/`pss` by copying the thread's template (built
    /// now when the slot holds another key that this one displaced before), or nil on the key's first visit to the
    /// slot and when OpenSSL fails (the caller then uses a fresh context).
    /// The returned context belongs to the thread: use it for one verify, do not free it.
    @unsafe
    static func copiedContext(key: OpaquePointer, md: OpaquePointer, pss: Bool) -> OpaquePointer? {
        guard let block = unsafe currentBlock() else { return nil }
        let address = unsafe UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(key)))
        let index = Int(truncatingIfNeeded: address >> 4) & (slotCount &- 1)
        return unsafe withUnsafeMutablePointer(to: &block.pointee.slots) { tuple -> OpaquePointer? in
            let slots = unsafe UnsafeMutableRawPointer(tuple).assumingMemoryBound(to: Slot.self)
            let slot = unsafe slots + index
            if unsafe slot.pointee.template == nil || slot.pointee.key != key || slot.pointee.md != md
                || slot.pointee.pss != pss
            {
                // A key's first verify on this thread uses a fresh context and only marks the slot: a key seen once
                // (a new client's) costs no template and leaves the slot's template (an issuer's, say) in place.
                guard unsafe slot.pointee.seen == address else {
                    unsafe slot.pointee.seen = address
                    return nil
                }
                guard let template = unsafe makeTemplate(key: key, md: md, pss: pss) else { return nil }
                if let old = unsafe slot.pointee.template { unsafe EVP_MD_CTX_free(old) }
                unsafe slot.pointee = Slot(template: template, key: key, md: md, pss: pss, seen: address)
            }
            guard let template = unsafe slot.pointee.template else { return nil }
            if unsafe block.pointee.work == nil {
                unsafe block.pointee.work = EVP_MD_CTX_new()
            }
            guard let work = unsafe block.pointee.work else { return nil }
            guard unsafe EVP_MD_CTX_copy_ex(work, template) == 1 else {
                ERR_clear_error()
                return nil
            }
            // The verify may finalise the copy in place: it is never reused without another copy.
            unsafe EVP_MD_CTX_set_flags(work, EVP_MD_CTX_FLAG_FINALISE)
            return unsafe work
        }
    }

    /// A context initialised for verifying with `key`, `md` and, when `pss`, RSASSA-PSS with MGF1 over `md` and a
    /// salt of the digest's length (the same parameters as the fresh-context path).
    @unsafe
    private static func makeTemplate(key: OpaquePointer, md: OpaquePointer, pss: Bool) -> OpaquePointer? {
        guard let template = unsafe EVP_MD_CTX_new() else {
            ERR_clear_error()
            return nil
        }
        var pctx: OpaquePointer? = nil
        var ok = unsafe EVP_DigestVerifyInit(template, &pctx, md, nil, key) == 1
        if ok && pss {
            if let pctx = unsafe pctx {
                ok = unsafe EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1
                    && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1
                    && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1
            } else {
                ok = false
            }
        }
        guard ok else {
            ERR_clear_error()
            unsafe EVP_MD_CTX_free(template)
            return nil
        }
        return unsafe template
    }

    /// This thread's block, allocated (zeroed) on first use; nil only when memory is exhausted.
    @unsafe
    private static func currentBlock() -> UnsafeMutablePointer<Block>? {
        let key = verifyTemplatesKey
        if let existing = unsafe pthread_getspecific(key) {
            return unsafe existing.assumingMemoryBound(to: Block.self)
        }
        guard let raw = unsafe calloc(1, MemoryLayout<Block>.stride) else { return nil }
        guard unsafe pthread_setspecific(key, raw) == 0 else {
            unsafe free(raw)
            return nil
        }
        return unsafe raw.assumingMemoryBound(to: Block.self)
    }

    /// Frees a thread's block: its work context and templates (releasing their key references).
    @unsafe
    static func release(_ raw: UnsafeMutableRawPointer) {
        let block = unsafe raw.assumingMemoryBound(to: Block.self)
        if let work = unsafe block.pointee.work { unsafe EVP_MD_CTX_free(work) }
        unsafe withUnsafeMutablePointer(to: &block.pointee.slots) { tuple in
            let slots = unsafe UnsafeMutableRawPointer(tuple).assumingMemoryBound(to: Slot.self)
            for index in 0..<slotCount {
                if let template = unsafe slots[index].template { unsafe EVP_MD_CTX_free(template) }
            }
        }
        unsafe free(raw)
    }
}

/// The thread-specific key of the template tables; its destructor frees a thread's table when the thread exits.
let verifyTemplatesKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = unsafe pthread_key_create(&key) { raw in
        guard let raw = unsafe raw else { return }
        unsafe VerifyTemplates.release(raw)
    }
    precondition(status == 0, "pthread_key_create failed")
    return key
}()
#endif
