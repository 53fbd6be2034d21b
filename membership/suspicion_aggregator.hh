#pragma once

#include <cstddef>
#include <map>
#include <vector>

#include "common/time.hh"
#include "membership/command.hh"
#include "membership/messages.hh"
#include "views/view.hh"

namespace roster::membership {

// The consensus leader's picture of who suspects whom: every voter reports its detectors'
// suspicions (changes as they happen, and the full set periodically); a member counts as
// suspected by a voter only at the incarnation the voter reported, and only while the report is
// fresh. Removal needs a majority of all voters (DESIGN guarantee 4: one flaky link between one
// voter and a member cannot remove it).
//
// Shared evidence: voters also report the members they hear late without suspecting them. A
// removal that a majority asks for is held while any voter the leader can talk to still hears
// the member (neither suspects it nor hears it late): a member is gone when the voters that can
// talk agree that nobody hears it. Two voters whose links to a member are bad at once, which on
// a jittery, lossy network happens far more often than a member's crash, then remove nobody
// while the third hears it; a crashed member is late everywhere before a majority suspects it,
// so its removal waits for no one. A voter that cannot talk (its reports and its Raft messages
// do not arrive) gives no evidence and holds nothing.
class suspicion_aggregator {
public:
    // `voters`: size of the voter group; `ttl`: a voter's suspicion that is not repeated (by a
    // full report) within this long no longer counts (the voter may have crashed).
    suspicion_aggregator(std::size_t voters, duration ttl);

    // A report from `from` (the leader's own detector reports through here as well).
    void report(voter_id from, const suspicion_report& r, mono_time now);

    // How many voters currently suspect `member` at `incarnation`.
    [[nodiscard]] std::size_t suspecters(member_id member, incarnation_number incarnation,
                                         mono_time now) const;
    [[nodiscard]] bool majority_suspects(member_id member, incarnation_number incarnation,
                                         mono_time now) const {
        return suspecters(member, incarnation, now) >= _quorum;
    }
    // Every member suspected by a majority at the incarnation they reported, sorted by id.
    [[nodiscard]] std::vector<std::pair<member_id, incarnation_number>>
    majority_suspected(mono_time now) const;

    // The removals due in `v`: its members that a majority suspects at the incarnation they have
    // in it, sorted by id.
    [[nodiscard]] std::vector<remove_op> removals_due(const views::view& v, mono_time now) const;
    // Of `due`, those that none of `talking` (the voters the leader hears from now, itself
    // included) still hears (see above); the others go to `held`, if given.
    struct held_removal {
        member_id member;
        voter_id hears; // the first voter that still hears it
    };
    [[nodiscard]] std::vector<remove_op> hold_back(std::vector<remove_op> due, const std::vector<voter_id>& talking,
                                                   mono_time now, std::vector<held_removal>* held = nullptr) const;
    // Whether `voter` suspects `member` at `incarnation` or hears it late (fresh reports).
    [[nodiscard]] bool does_not_hear(voter_id voter, member_id member, incarnation_number incarnation,
                                     mono_time now) const;

    // What each voter that suspects `member` at `incarnation` said about it, by voter id (for the
    // leader's log line when it proposes the removal).
    struct witness {
        voter_id voter;
        double phi = 0;
        std::uint32_t samples = 0;
        std::uint32_t silence_ms = suspicion::never_heard; // at the report
        duration since_report{};                             // from the report to `now`
    };
    [[nodiscard]] std::vector<witness> witnesses(member_id member, incarnation_number incarnation,
                                                 mono_time now) const;

    // The member left the view: its suspicions are done with.
    void forget(member_id member) {
        _suspicions.erase(member);
        _late.erase(member);
    }
    // A new leader starts from nothing and rebuilds from the periodic full reports.
    void clear() {
        _suspicions.clear();
        _late.clear();
    }

private:
    struct vote {
        incarnation_number incarnation;
        mono_time refreshed;
        double phi = 0;
        std::uint32_t samples = 0;
        std::uint32_t silence_ms = suspicion::never_heard;
    };

    std::size_t _quorum;
    duration _ttl;
    std::map<member_id, std::map<voter_id, vote>> _suspicions;
    std::map<member_id, std::map<voter_id, vote>> _late; // heard late, not suspected
};

} // namespace roster::membership
