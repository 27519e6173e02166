//! A small blocking L1 client: JSON-RPC over HTTP/1.1, transactions signed locally (EIP-1559,
//! secp256k1) or by the node, receipts awaited.

mod client;
mod rpc;

pub use client::{L1Client, Receipt, Signer};
pub use rpc::HttpRpc;
