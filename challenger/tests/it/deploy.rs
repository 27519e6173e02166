//! The Rust deployer against a real JSON-RPC node: anvil, spawned by the test and killed on
//! drop. Deploys the system, then posts a proposal, challenges it and makes the first move,
//! signing locally (EIP-1559) and through the node (`eth_sendTransaction`).
//!
//! No step verifier exists yet (issue 7) and the deployer never deploys a test double: the
//! factory points at a code-less placeholder address, so no step is played here.

use alloy_primitives::{Address, B256, Bytes, U256, address};
use alloy_sol_types::SolCall;
use refute_challenger::{DeployConfig, Error, L1Client, Signer, deploy};
use refute_contracts::{DisputeGame, DisputeGameFactory, Proposals};
use refute_engine::game::GameParams;
use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// anvil's first dev account key (public knowledge, test only).
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// anvil's second dev account, unlocked on the node.
const DEV_ACCOUNT_1: Address = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
/// A placeholder verifier (no code): see the module docs.
const NO_VERIFIER: Address = address!("0x00000000000000000000000000000000000007E5");

/// An anvil node on a free port, killed on drop.
struct Anvil {
    child: Child,
    url: String,
}

impl Anvil {
    fn spawn() -> Self {
        let bin =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts/node_modules/.bin/anvil");
        assert!(bin.exists(), "{} is missing: run scripts/contracts-toolchain.sh", bin.display());
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("its address").port();
        drop(listener);
        let child = Command::new(bin)
            .args(["--port", &port.to_string(), "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("anvil starts");
        let anvil = Self { child, url: format!("http://127.0.0.1:{port}") };
        let started = Instant::now();
        while L1Client::connect(&anvil.url, Signer::Node(DEV_ACCOUNT_1)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "anvil did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        anvil
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn call<C: SolCall>(client: &L1Client, to: Address, call: &C) -> C::Return {
    let out = client.call(to, &call.abi_encode()).expect("eth_call");
    C::abi_decode_returns(&out).expect("decodable")
}

#[test]
fn deploys_and_plays_the_first_moves_on_anvil() {
    let anvil = Anvil::spawn();
    let client = L1Client::connect(&anvil.url, Signer::from_hex(DEV_KEY).unwrap()).unwrap();
    assert_eq!(client.chain_id(), 31337);
    let config = DeployConfig {
        params: GameParams::new(8, 4).unwrap(),
        verifier: NO_VERIFIER,
        challenge_window: 600,
        genesis_output_root: B256::repeat_byte(0x6e),
    };
    let deployment = deploy(&client, &config).expect("deploys");

    let params = call(&client, deployment.factory, &DisputeGameFactory::paramsCall {});
    assert_eq!(
        (params.maxDepth, params.splitDepth, params.baseBond),
        (8, 4, 80_000_000_000_000_000)
    );
    assert_eq!(
        call(&client, deployment.factory, &DisputeGameFactory::VERIFIERCall {}),
        NO_VERIFIER
    );
    assert_eq!(call(&client, deployment.proposals, &Proposals::FACTORYCall {}), deployment.factory);
    assert_eq!(call(&client, deployment.proposals, &Proposals::CHALLENGE_WINDOWCall {}), 600);

    // A proposal (signed locally), challenged and attacked by a node-signed account.
    let bond = call(&client, deployment.proposals, &Proposals::proposalBondCall {});
    let propose = Proposals::proposeCall {
        parent: U256::ZERO,
        batch: Bytes::from_static(b"an L2 batch"),
        outputRoot: B256::repeat_byte(0x01),
    };
    client.send(Some(deployment.proposals), propose.abi_encode().into(), bond).expect("proposes");
    let challenger = L1Client::connect(&anvil.url, Signer::Node(DEV_ACCOUNT_1)).unwrap();
    let challenge = Proposals::challengeCall { id: U256::from(1) };
    challenger
        .send(Some(deployment.proposals), challenge.abi_encode().into(), U256::ZERO)
        .expect("challenges");
    let proposal =
        call(&client, deployment.proposals, &Proposals::proposalCall { id: U256::from(1) });
    let game = proposal.game;
    let root = call(&client, game, &DisputeGame::claimDataCall { index: U256::ZERO });
    assert_eq!(root.claimant, client.address(), "the proposer's root claim");
    let bond1 = call(&client, game, &DisputeGame::bondCall { depth: 1 });
    let attack =
        DisputeGame::attackCall { parentIndex: U256::ZERO, value: B256::repeat_byte(0x02) };
    let receipt = challenger.send(Some(game), attack.abi_encode().into(), bond1).expect("attacks");
    assert!(receipt.gas_used > 21_000);
    assert_eq!(call(&client, game, &DisputeGame::claimCountCall {}), 2);

    // A rule broken on L1 is an error, not a silent revert: a second root defence.
    let defend = DisputeGame::defendCall { parentIndex: U256::ZERO, value: B256::ZERO };
    let err = challenger.send(Some(game), defend.abi_encode().into(), bond1).unwrap_err();
    assert!(matches!(err, Error::Rpc { .. }), "{err}");

    // Invalid parameters are refused before anything is sent.
    let bad = DeployConfig { params: GameParams { split_depth: 8, ..config.params }, ..config };
    assert!(matches!(deploy(&client, &bad), Err(Error::Params(_))));
}

#[test]
fn only_http_urls() {
    assert!(matches!(
        L1Client::connect("https://example.invalid", Signer::Node(Address::ZERO)),
        Err(Error::BadUrl(_))
    ));
    assert!(matches!(Signer::from_hex("0x00"), Err(Error::BadKey)));
}

#[test]
fn refute_deploy_prints_the_addresses() {
    let anvil = Anvil::spawn();
    let out = assert_cmd::Command::cargo_bin("refute")
        .expect("the refute binary is built")
        .env_remove("REFUTE_LOG")
        .args(["deploy", "--rpc-url", &anvil.url, "--from"])
        .arg(DEV_ACCOUNT_1.to_string())
        .args(["--verifier"])
        .arg(NO_VERIFIER.to_string())
        .args(["--challenge-window", "60", "--max-depth", "14", "--split-depth", "4"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    let proposals: Address = line["proposals"].as_str().expect("an address").parse().expect("hex");
    let client = L1Client::connect(&anvil.url, Signer::Node(DEV_ACCOUNT_1)).expect("connects");
    assert_eq!(call(&client, proposals, &Proposals::CHALLENGE_WINDOWCall {}), 60);
    // Neither a key nor an account: a usage error.
    let out = assert_cmd::Command::cargo_bin("refute")
        .expect("the refute binary is built")
        .env_remove("REFUTE_PRIVATE_KEY")
        .env_remove("REFUTE_FROM")
        .args(["deploy", "--rpc-url", &anvil.url, "--verifier"])
        .arg(NO_VERIFIER.to_string())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}
