#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "common/prng.hh"
#include "consensus/message.hh"

namespace roster::sim {

// A consensus message that no voter sent, carrying a term above consensus::max_term.
struct forged_message {
    std::size_t to = 0;   // the voter it is handed to
    std::size_t from = 0; // the voter it claims to come from
    consensus::message_body body;
};

// The forger of the simulations: every kind of consensus message with a term of 2^64 - 1 (whose
// next term is 0, what made a cluster leaderless for good before terms were bounded),
// max_term + 1, or anything between; also messages of a sane term that carry an entry or a last
// term past the bound. It draws from its own generator, seeded apart from the run's, and is active
// on about half the seeds; what it sends must be refused without a trace.
class term_forger {
public:
    // `chance`: that a call to next() forges something (on an active seed).
    term_forger(std::uint64_t seed, double chance)
        : _rng(seed * 0x9e3779b97f4a7c15ULL + 0x7e57)
        , _chance(chance) {
        _active = _rng.chance(0.5);
    }

    [[nodiscard]] bool active() const noexcept { return _active; }

    // Maybe a forged message for one of `voters` voters; `term_of(i)` is voter i's current term.
    std::optional<forged_message> next(std::size_t voters,
                                       const std::function<raft_term(std::size_t)>& term_of) {
        if (!_active || !_rng.chance(_chance)) {
            return std::nullopt;
        }
        forged_message f;
        f.to = static_cast<std::size_t>(_rng.below(voters));
        f.from = static_cast<std::size_t>(_rng.below(voters));
        if (f.to == f.from) {
            f.from = (f.from + 1) % voters;
        }
        const raft_term huge = pick_huge();
        const log_index index(_rng.below(200));
        const raft_term sane = term_of(f.to) + _rng.below(3);
        switch (_rng.below(8)) {
        case 0:
            f.body = consensus::vote_request{huge, index, _rng.chance(0.5) ? huge : sane, _rng.chance(0.5)};
            break;
        case 1: // a vote request of a sane term from a log that claims a huge last term
            f.body = consensus::vote_request{sane, index, huge, _rng.chance(0.5)};
            break;
        case 2:
            f.body = consensus::vote_reply{huge, _rng.chance(0.5), _rng.chance(0.5)};
            break;
        case 3:
            f.body = consensus::append_request{huge, index, sane, {}, index};
            break;
        case 4: // an append of a sane term carrying an entry of a huge one
            f.body = consensus::append_request{
                sane, index, sane, {{index.next(), huge, consensus::entry_kind::normal, {1}}}, index.next()};
            break;
        case 5:
            f.body = consensus::append_reply{huge, _rng.chance(0.5), index, log_index(), raft_term()};
            break;
        case 6:
            f.body = consensus::snapshot_request{huge, index, huge, {1, 2, 3}};
            break;
        default:
            f.body = consensus::snapshot_reply{huge, _rng.chance(0.5), index};
            break;
        }
        return f;
    }

private:
    raft_term pick_huge() {
        switch (_rng.below(3)) {
        case 0:
            return raft_term(~std::uint64_t{0});
        case 1:
            return consensus::max_term.next();
        default:
            return consensus::max_term + (1 + _rng.below(~std::uint64_t{0} - consensus::max_term.value()));
        }
    }

    prng _rng;
    double _chance;
    bool _active = false;
};

} // namespace roster::sim
