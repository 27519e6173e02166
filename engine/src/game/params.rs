//! The game's parameters, its bond schedule and its clock extensions (spec `game.md` §1,
//! §4.3, §4.4).

use super::{GameError, GameResult, Position};
use serde::{Deserialize, Serialize};

/// The denominator of [`GameParams::bond_growth_bps`]: basis points.
pub const BPS: u128 = 10_000;

/// The parameters of a game (spec `game.md` §1). Depths count tree levels, durations are in
/// seconds, bonds in wei.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GameParams {
    /// The deepest depth a claim may have; claims there are countered by a step (§5).
    pub max_depth: u8,
    /// The deepest depth of the transaction level: claims at depth `<= split_depth` commit
    /// to transaction-level states, deeper ones to step-level machine states (§3).
    pub split_depth: u8,
    /// The most time, in seconds, either side's chess clock may accumulate (§4.3).
    pub max_clock_duration: u64,
    /// The time, in seconds, a side is guaranteed for its next move after any move it makes
    /// (§4.3).
    pub clock_extension: u64,
    /// The guarantee, in seconds, after a move at depth `split_depth - 1`: the mover's next
    /// move is the first claim below the split, which needs the disputed transaction's trace
    /// (§4.3).
    pub split_clock_extension: u64,
    /// The guarantee, in seconds, after a move at depth `max_depth - 1`: the mover's next
    /// action is a step, which needs a witness (§4.3).
    pub step_clock_extension: u64,
    /// The bond of the root claim (depth 0), in wei (§4.4).
    pub base_bond: u128,
    /// The bond's growth per depth, in basis points of the previous depth's bond (`10_000` =
    /// flat) (§4.4).
    pub bond_growth_bps: u32,
}

impl GameParams {
    /// Mainnet-scale defaults (the Optimism deployment's clocks, spec §1): max clock 3.5 days
    /// (302,400 s), extension 3 h (10,800 s), 6 h before the split and 27 h before a step;
    /// a root bond of 0.08 ETH growing 9.49 % per depth (≈ 750× over 73 levels).
    ///
    /// # Errors
    ///
    /// [`GameError::InvalidParams`] when the depths break §1.
    pub fn new(max_depth: u8, split_depth: u8) -> GameResult<Self> {
        let params = Self {
            max_depth,
            split_depth,
            max_clock_duration: 302_400,
            clock_extension: 10_800,
            split_clock_extension: 21_600,
            step_clock_extension: 97_200,
            base_bond: 80_000_000_000_000_000,
            bond_growth_bps: 10_949,
        };
        params.validate()?;
        Ok(params)
    }

    /// Checks the invariants of §1.
    ///
    /// # Errors
    ///
    /// [`GameError::InvalidParams`] naming the broken invariant: `1 <= split_depth <
    /// max_depth < 126`; every extension below the maximum clock duration; `bond_growth_bps`
    /// in `10_000..=100_000`; the bond at every depth up to `max_depth` computable in 128 bits.
    pub fn validate(&self) -> GameResult<()> {
        if self.split_depth == 0 || self.split_depth >= self.max_depth {
            return Err(GameError::InvalidParams("need 1 <= split_depth < max_depth"));
        }
        if self.max_depth >= Position::MAX_DEPTH {
            return Err(GameError::InvalidParams("need max_depth < 126"));
        }
        let max = self.max_clock_duration;
        if self.clock_extension >= max
            || self.split_clock_extension >= max
            || self.step_clock_extension >= max
        {
            return Err(GameError::InvalidParams(
                "every clock extension must be below the maximum clock duration",
            ));
        }
        if !(10_000..=100_000).contains(&self.bond_growth_bps) {
            return Err(GameError::InvalidParams("need 10_000 <= bond_growth_bps <= 100_000"));
        }
        self.try_bond(self.max_depth)
            .ok_or(GameError::InvalidParams("the bond at max_depth overflows 128 bits"))?;
        Ok(())
    }

    /// The bond of a claim at `depth`, in wei (§4.4): `b(0) = base_bond`, `b(d + 1) =
    /// floor(b(d) * bond_growth_bps / 10_000)`, each product computed exactly (it must fit
    /// 128 bits, which [`GameParams::validate`] checks for every depth up to `max_depth`).
    /// A step posts no bond.
    ///
    /// # Errors
    ///
    /// [`GameError::InvalidParams`] for a depth past `max_depth` or parameters whose bond
    /// overflows.
    pub fn bond(&self, depth: u8) -> GameResult<u128> {
        if depth > self.max_depth {
            return Err(GameError::InvalidParams("no bond past max_depth"));
        }
        self.try_bond(depth).ok_or(GameError::InvalidParams("the bond overflows 128 bits"))
    }

    fn try_bond(&self, depth: u8) -> Option<u128> {
        let mut bond = self.base_bond;
        for _ in 0..depth {
            bond = bond.checked_mul(u128::from(self.bond_growth_bps))? / BPS;
        }
        Some(bond)
    }

    /// The guarantee given to the side that makes a claim at `depth` (§4.3), in seconds:
    /// [`Self::step_clock_extension`] at `max_depth - 1`, else
    /// [`Self::split_clock_extension`] at `split_depth - 1`, else [`Self::clock_extension`].
    /// The new claim's clock duration is capped at `max_clock_duration - extension`.
    pub const fn extension(&self, depth: u8) -> u64 {
        if depth as u16 + 1 == self.max_depth as u16 {
            self.step_clock_extension
        } else if depth as u16 + 1 == self.split_depth as u16 {
            self.split_clock_extension
        } else {
            self.clock_extension
        }
    }

    /// The number of leaves of the transaction level, `2^split_depth` (§3.1).
    pub const fn top_width(&self) -> u128 {
        1 << self.split_depth
    }

    /// The number of leaves of a lower (step) level, `2^(max_depth - split_depth - 1)` (§3.2).
    pub const fn lower_width(&self) -> u128 {
        1 << (self.max_depth - self.split_depth - 1)
    }
}

/// A claim's chess clock (§4.3): the time its claimant's side had used when the claim was
/// made, and when it was made. Packed on L1 as `duration << 64 | timestamp`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// The claimant side's accumulated time, in seconds.
    pub duration: u64,
    /// When the claim was made, in seconds (L1 block timestamp).
    pub timestamp: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainnet_bonds_match_the_optimism_range() {
        let params = GameParams::new(73, 30).unwrap();
        assert_eq!(params.bond(0).unwrap(), 80_000_000_000_000_000);
        // Exact integer values: b(1) = floor(0.08 ETH * 1.0949).
        assert_eq!(params.bond(1).unwrap(), 87_592_000_000_000_000);
        assert_eq!(params.bond(2).unwrap(), 95_904_480_800_000_000);
        let top = params.bond(73).unwrap();
        // ≈ 60 ETH at depth 73, as Optimism's ~0.08 → ~60 ETH.
        assert!((55 * 10u128.pow(18)..65 * 10u128.pow(18)).contains(&top), "{top}");
        for depth in 0..73 {
            assert!(params.bond(depth + 1).unwrap() > params.bond(depth).unwrap());
        }
        assert!(matches!(params.bond(74), Err(GameError::InvalidParams(_))));
    }

    #[test]
    fn bonds_round_down_each_level() {
        let params =
            GameParams { base_bond: 3, bond_growth_bps: 15_000, ..GameParams::new(8, 4).unwrap() };
        // 3 -> floor(4.5) = 4 -> 6 -> 9 -> floor(13.5) = 13.
        let bonds: Vec<u128> = (0..5).map(|d| params.bond(d).unwrap()).collect();
        assert_eq!(bonds, [3, 4, 6, 9, 13]);
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(GameParams::new(8, 8).is_err());
        assert!(GameParams::new(8, 0).is_err());
        assert!(GameParams::new(126, 30).is_err());
        let ok = GameParams::new(8, 4).unwrap();
        let bad = GameParams { clock_extension: ok.max_clock_duration, ..ok };
        assert!(bad.validate().is_err());
        let bad = GameParams { bond_growth_bps: 9_999, ..ok };
        assert!(bad.validate().is_err());
        let bad = GameParams { base_bond: u128::MAX / 2, ..ok };
        assert!(matches!(bad.validate(), Err(GameError::InvalidParams(_))));
    }

    #[test]
    fn extensions_near_the_split_and_the_bottom() {
        let params = GameParams::new(10, 4).unwrap();
        assert_eq!(params.extension(9), params.step_clock_extension);
        assert_eq!(params.extension(3), params.split_clock_extension);
        for depth in [0, 1, 2, 4, 5, 8, 10] {
            assert_eq!(params.extension(depth), params.clock_extension);
        }
        assert_eq!(params.lower_width(), 32);
        assert_eq!(params.top_width(), 16);
    }
}
