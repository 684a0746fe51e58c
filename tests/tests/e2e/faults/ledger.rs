//! One client's record of what the services acknowledged: accounts, the
//! newest token pair of each session, bios, access tokens. The checks
//! afterwards replay it to prove none of it was lost.

use std::collections::BTreeMap;

use shared::api::TokenResponse;

use crate::support::client::Reply;

use super::requests::Op;

/// What one client was told succeeded.
#[derive(Default)]
pub(super) struct Ledger {
    pub(super) accounts: Vec<Account>,
    /// Every access token acknowledged (login and refresh).
    pub(super) access: Vec<String>,
    pub(super) turn: usize,
    pub(super) broken: bool,
    pub(super) acks: BTreeMap<&'static str, usize>,
    /// Two refreshes of one token that got different successors.
    pub(super) forks: Vec<String>,
}

pub(super) struct Account {
    pub(super) email: String,
    /// The newest acknowledged pair of each session.
    pub(super) chains: Vec<TokenResponse>,
    pub(super) bio: Bio,
}

/// The newest acknowledged `bio`, and the values sent since that got no
/// answer: any of them may have been stored.
#[derive(Clone, Default)]
pub(super) struct Bio {
    pub(super) acked: Option<String>,
    pub(super) unsure: Vec<String>,
}

impl Bio {
    pub(super) fn kept(&self, stored: Option<&str>) -> bool {
        match stored {
            None => self.acked.is_none(),
            Some(s) => self.acked.as_deref() == Some(s) || self.unsure.iter().any(|u| u == s),
        }
    }
}

impl Ledger {
    /// `op`, or what has to come first (a session needs an account).
    pub(super) fn feasible(&self, op: Op) -> Op {
        let has_chain = self.accounts.iter().any(|a| !a.chains.is_empty());
        let needs_login = self.accounts.iter().any(|a| a.chains.len() < 2);
        match op {
            Op::Refresh | Op::TwoTabs | Op::Me | Op::Patch if has_chain => op,
            Op::Signup => op,
            _ if needs_login => Op::Login,
            _ => Op::Signup,
        }
    }

    /// The next session in turn: (account, chain).
    pub(super) fn pick(&mut self) -> (usize, usize) {
        let all: Vec<(usize, usize)> = (self.accounts.iter().enumerate())
            .flat_map(|(a, account)| (0..account.chains.len()).map(move |c| (a, c)))
            .collect();
        self.turn += 1;
        all[self.turn % all.len()]
    }

    /// Whether `reply` came with `status`; no reply breaks the client.
    pub(super) fn got(&mut self, reply: &Option<Reply>, status: u16, op: &'static str) -> bool {
        self.broken |= reply.is_none();
        let ok = reply.as_ref().is_some_and(|r| r.status.as_u16() == status);
        *self.acks.entry(op).or_default() += usize::from(ok);
        ok
    }

    /// The token pair in `reply`, when it is one.
    pub(super) fn tokens(
        &mut self,
        reply: &Option<Reply>,
        op: &'static str,
    ) -> Option<TokenResponse> {
        if !self.got(reply, 200, op) {
            return None;
        }
        let tokens: TokenResponse = reply.as_ref()?.json();
        self.access.push(tokens.access_token.clone());
        Some(tokens)
    }
}
