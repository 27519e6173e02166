//! Transactions on L1: nonces, fees, gas limits, signing and receipts.

use super::HttpRpc;
use crate::{Error, Result};
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256};
use k256::ecdsa::SigningKey;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Who signs transactions.
#[derive(Clone)]
pub enum Signer {
    /// The node signs (`eth_sendTransaction` from this unlocked account, e.g. anvil's).
    Node(Address),
    /// We sign locally with this secp256k1 key (`eth_sendRawTransaction`, EIP-1559).
    Key(Box<SigningKey>),
}

impl std::fmt::Debug for Signer {
    /// Never prints the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Node(address) => write!(f, "Node({address})"),
            Self::Key(key) => write!(f, "Key({})", Address::from_private_key(key)),
        }
    }
}

impl Signer {
    /// A local signer from a hex private key (with or without `0x`).
    ///
    /// # Errors
    ///
    /// [`Error::BadKey`].
    pub fn from_hex(key: &str) -> Result<Self> {
        let bytes: B256 = key.trim().parse().map_err(|_| Error::BadKey)?;
        let key = SigningKey::from_slice(bytes.as_slice()).map_err(|_| Error::BadKey)?;
        Ok(Self::Key(Box::new(key)))
    }

    /// The sending address.
    pub fn address(&self) -> Address {
        match self {
            Self::Node(address) => *address,
            Self::Key(key) => Address::from_private_key(key),
        }
    }
}

/// A mined transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The transaction hash.
    pub tx: B256,
    /// The created contract, for a creation.
    pub contract_address: Option<Address>,
    /// The gas used.
    pub gas_used: u64,
}

/// A blocking L1 client: one JSON-RPC endpoint and one signer.
#[derive(Debug)]
pub struct L1Client {
    rpc: HttpRpc,
    signer: Signer,
    chain_id: u64,
    /// How long to wait for a receipt.
    pub receipt_timeout: Duration,
}

impl L1Client {
    /// Connects to the node at `url` (reads its chain id) with `signer`.
    ///
    /// # Errors
    ///
    /// As for [`HttpRpc::new`] and [`HttpRpc::request`].
    pub fn connect(url: &str, signer: Signer) -> Result<Self> {
        let rpc = HttpRpc::new(url)?;
        let chain_id = quantity(&rpc.request("eth_chainId", json!([]))?, "eth_chainId")?;
        Ok(Self { rpc, signer, chain_id, receipt_timeout: Duration::from_secs(120) })
    }

    /// The sending address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The chain id.
    pub const fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The JSON-RPC endpoint.
    pub const fn rpc(&self) -> &HttpRpc {
        &self.rpc
    }

    /// `eth_call` of `data` on `to` at the latest block.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] (a revert included), transport errors.
    pub fn call(&self, to: Address, data: &[u8]) -> Result<Bytes> {
        let params = json!([{"from": self.address(), "to": to, "data": Bytes::copy_from_slice(data)}, "latest"]);
        let result = self.rpc.request("eth_call", params)?;
        serde_json::from_value(result)
            .map_err(|e| Error::BadResponse { method: "eth_call".into(), detail: e.to_string() })
    }

    /// Sends a transaction (a creation when `to` is `None`) with `data` and `value` wei and
    /// waits for its receipt. The gas limit is the node's estimate plus 20 % (explicit, so a
    /// failing estimate is an error here, not a silent revert later); fees: max fee twice the
    /// node's gas price, priority fee at most 1 gwei.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] (the estimate reverts), [`Error::Reverted`], [`Error::NotMined`],
    /// transport errors.
    pub fn send(&self, to: Option<Address>, data: Bytes, value: U256) -> Result<Receipt> {
        let from = self.address();
        let mut call = json!({"from": from, "data": data, "value": value});
        if let Some(to) = to {
            call["to"] = json!(to);
        }
        let estimate =
            quantity(&self.rpc.request("eth_estimateGas", json!([call]))?, "eth_estimateGas")?;
        let gas_limit = estimate + estimate / 5;
        let gas_price =
            u128::from(quantity(&self.rpc.request("eth_gasPrice", json!([]))?, "eth_gasPrice")?);
        let max_fee = gas_price.saturating_mul(2).max(1);
        let tip = gas_price.min(1_000_000_000);
        let hash = match &self.signer {
            Signer::Node(_) => {
                call["gas"] = json!(format!("{gas_limit:#x}"));
                call["maxFeePerGas"] = json!(format!("{max_fee:#x}"));
                call["maxPriorityFeePerGas"] = json!(format!("{tip:#x}"));
                self.rpc.request("eth_sendTransaction", json!([call]))?
            }
            Signer::Key(key) => {
                let nonce = quantity(
                    &self.rpc.request("eth_getTransactionCount", json!([from, "pending"]))?,
                    "eth_getTransactionCount",
                )?;
                let tx = TxEip1559 {
                    chain_id: self.chain_id,
                    nonce,
                    gas_limit,
                    max_fee_per_gas: max_fee,
                    max_priority_fee_per_gas: tip,
                    to: to.map_or(TxKind::Create, TxKind::Call),
                    value,
                    access_list: Default::default(),
                    input: data,
                };
                let (sig, recid) = key
                    .sign_prehash_recoverable(tx.signature_hash().as_slice())
                    .map_err(|_| Error::BadKey)?;
                let signature = Signature::from_signature_and_parity(sig, recid.is_y_odd());
                let raw = TxEnvelope::from(tx.into_signed(signature)).encoded_2718();
                self.rpc.request("eth_sendRawTransaction", json!([Bytes::from(raw)]))?
            }
        };
        let tx: B256 = serde_json::from_value(hash).map_err(|e| Error::BadResponse {
            method: "eth_sendTransaction".into(),
            detail: e.to_string(),
        })?;
        self.wait(tx)
    }

    fn wait(&self, tx: B256) -> Result<Receipt> {
        let started = Instant::now();
        loop {
            let receipt = self.rpc.request("eth_getTransactionReceipt", json!([tx]))?;
            if !receipt.is_null() {
                let gas_used = quantity(&receipt["gasUsed"], "eth_getTransactionReceipt")?;
                if receipt["status"] != "0x1" {
                    return Err(Error::Reverted { tx, gas_used });
                }
                let contract_address =
                    receipt["contractAddress"].as_str().and_then(|a| a.parse().ok());
                return Ok(Receipt { tx, contract_address, gas_used });
            }
            if started.elapsed() > self.receipt_timeout {
                return Err(Error::NotMined { tx, seconds: self.receipt_timeout.as_secs() });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A JSON-RPC quantity (`"0x..."`) as `u64`.
fn quantity(value: &Value, method: &str) -> Result<u64> {
    value
        .as_str()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .ok_or_else(|| Error::BadResponse {
            method: method.to_owned(),
            detail: format!("not a quantity: {value}"),
        })
}
