//! Signed EIP-2718 transactions as revm executes them.
//!
//! Batches (and the blockchain tests) carry transactions as signed typed envelopes; the
//! sender is recovered from the signature (secp256k1, low-s as EIP-2 requires) and the
//! fields are mapped onto revm's [`TxEnv`].

use crate::{Error, Result};
use alloy_consensus::{Transaction as _, TxEnvelope, transaction::SignerRecoverable};
use alloy_eips::Typed2718 as _;
use alloy_primitives::Address;
use revm::context::{TxEnv, either::Either};

/// A signed transaction with its recovered sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveredTx {
    /// The signed EIP-2718 envelope.
    pub envelope: TxEnvelope,
    /// The sender recovered from the signature.
    pub sender: Address,
}

impl RecoveredTx {
    /// Recovers the sender of `envelope`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCase`] (naming `what`) when the signature does not recover to an
    /// address (invalid point, high `s` after EIP-2).
    pub fn recover(envelope: TxEnvelope, what: &dyn std::fmt::Display) -> Result<Self> {
        let sender = envelope
            .recover_signer()
            .map_err(|e| Error::invalid_case(what, format!("cannot recover sender: {e}")))?;
        Ok(Self { envelope, sender })
    }

    /// The transaction as revm's [`TxEnv`]: for EIP-1559 and later types `gas_price` is
    /// `max_fee_per_gas` and `gas_priority_fee` is `max_priority_fee_per_gas`, as revm expects.
    pub fn tx_env(&self) -> TxEnv {
        let tx = &self.envelope;
        let (gas_price, gas_priority_fee) = match tx.gas_price() {
            Some(gas_price) => (gas_price, None),
            None => (tx.max_fee_per_gas(), tx.max_priority_fee_per_gas()),
        };
        TxEnv {
            tx_type: tx.ty(),
            caller: self.sender,
            gas_limit: tx.gas_limit(),
            gas_price,
            kind: tx.kind(),
            value: tx.value(),
            data: tx.input().clone(),
            nonce: tx.nonce(),
            chain_id: tx.chain_id(),
            access_list: tx.access_list().cloned().unwrap_or_default(),
            gas_priority_fee,
            blob_hashes: tx.blob_versioned_hashes().map(<[_]>::to_vec).unwrap_or_default(),
            max_fee_per_blob_gas: tx.max_fee_per_blob_gas().unwrap_or_default(),
            authorization_list: tx
                .authorization_list()
                .map(|list| list.iter().cloned().map(Either::Left).collect())
                .unwrap_or_default(),
        }
    }
}

/// Signs `tx` with the secp256k1 secret `key` (RFC 6979, low `s` as EIP-2 requires) and
/// returns its signed EIP-2718 envelope: what a batch carries (spec §8.1).
///
/// # Errors
///
/// [`Error::InvalidCase`] (naming `what`) when the key cannot sign.
pub fn signed_envelope<T>(
    tx: T,
    key: &k256::ecdsa::SigningKey,
    what: &dyn std::fmt::Display,
) -> Result<alloy_primitives::Bytes>
where
    T: alloy_consensus::SignableTransaction<alloy_primitives::Signature>,
    TxEnvelope: From<alloy_consensus::Signed<T>>,
{
    use alloy_eips::Encodable2718 as _;
    let hash = tx.signature_hash();
    let (signature, recovery) = key
        .sign_prehash_recoverable(hash.as_slice())
        .map_err(|e| Error::invalid_case(what, format!("cannot sign: {e}")))?;
    let bytes = signature.to_bytes();
    let signature = alloy_primitives::Signature::new(
        alloy_primitives::U256::from_be_slice(&bytes[..32]),
        alloy_primitives::U256::from_be_slice(&bytes[32..]),
        recovery.is_y_odd(),
    );
    Ok(TxEnvelope::from(tx.into_signed(signature)).encoded_2718().into())
}
