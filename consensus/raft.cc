#include "consensus/raft.hh"

#include <algorithm>

#include <fmt/format.h>

#include "common/invariant.hh"
#include "consensus/quorum.hh"

namespace roster::consensus {

namespace {

raft_term term_of(const message_body& body) {
    return std::visit([](const auto& m) { return m.term; }, body);
}

bool from_leader(const message_body& body) {
    return std::holds_alternative<append_request>(body) || std::holds_alternative<snapshot_request>(body);
}

// For the logs: what kind of message carried a term.
const char* kind_of(const message_body& body) {
    struct names {
        const char* operator()(const vote_request& m) const { return m.pre_vote ? "a pre-vote request" : "a vote request"; }
        const char* operator()(const vote_reply& m) const { return m.pre_vote ? "a pre-vote reply" : "a vote reply"; }
        const char* operator()(const append_request&) const { return "an append"; }
        const char* operator()(const append_reply&) const { return "an append reply"; }
        const char* operator()(const snapshot_request&) const { return "a snapshot"; }
        const char* operator()(const snapshot_reply&) const { return "a snapshot reply"; }
    };
    return std::visit(names{}, body);
}

} // namespace

std::optional<std::string> raft_config::validate() const {
    if (voters.size() != 1 && voters.size() != 3 && voters.size() != 5) {
        return fmt::format("there must be 1, 3 or 5 voters, not {}", voters.size());
    }
    std::vector<voter_id> sorted = voters;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
        return std::string("a voter id appears twice in the voter list");
    }
    if (sorted.front() == voter_id(0)) {
        return std::string("voter ids start at 1");
    }
    if (std::find(voters.begin(), voters.end(), id) == voters.end()) {
        return fmt::format("voter id {} is not in the voter list", id);
    }
    if (election_ticks < 2 || heartbeat_ticks < 1 || heartbeat_ticks >= election_ticks) {
        return std::string("need election_ticks >= 2 and 1 <= heartbeat_ticks < election_ticks");
    }
    if (max_election_ticks != 0 && max_election_ticks < election_ticks) {
        return std::string("max_election_ticks must be 0 (a fixed timeout) or at least election_ticks");
    }
    if (silence_period_ticks < 1 || silence_periods < 2) {
        return std::string("need silence_period_ticks >= 1 and silence_periods >= 2");
    }
    if (max_append_entries < 1 || max_inflight < 1) {
        return std::string("max_append_entries and max_inflight must be at least 1");
    }
    return std::nullopt;
}

raft::raft(const raft_config& config, prng random, persisted_state recovered, log_sink* log)
    : _config(config)
    , _random(random)
    , _logger(log)
    , _silences(std::max(config.silence_period_ticks, 1), static_cast<std::size_t>(std::max(config.silence_periods, 2))) {
    if (auto bad = config.validate()) {
        invariant_broken("raft", "invalid configuration: {}", *bad);
    }
    _election_ticks = _config.election_ticks;
    _logged_election_ticks = _election_ticks;
    std::sort(_config.voters.begin(), _config.voters.end());
    const snapshot_meta snap = recovered.snap ? recovered.snap->meta : snapshot_meta{};
    _log = raft_log(snap, std::move(recovered.entries));
    _snapshot = std::move(recovered.snap);
    if (recovered.hard.term > max_term) {
        invariant_broken(fmt::format("raft {}", _config.id), "recovered term {} is above the largest term {}",
                         recovered.hard.term, max_term);
    }
    _term = recovered.hard.term;
    _vote = recovered.hard.vote;
    _commit = std::max(recovered.hard.commit, snap.index);
    if (_commit > _log.last_index()) {
        invariant_broken(fmt::format("raft {}", _config.id), "recovered commit index {} beyond the last entry {}", _commit, _log.last_index());
    }
    _applied = snap.index;
    _pending_apply_snapshot = _snapshot; // the state machine starts from it
    _persisted_hard = {_term, _vote, _commit};
    _unstable_from = _log.last_index().next();
    reset_election_timer();
    log_to(_logger, log_level::info, "raft {}: started at term {}, log ({}, {}], commit {}", _config.id,
           _term, snap.index, _log.last_index(), _commit);
}

bool raft::is_voter(voter_id v) const {
    return std::binary_search(_config.voters.begin(), _config.voters.end(), v);
}

void raft::reset_election_timer() {
    _election_elapsed = 0;
    _randomized_timeout =
        _election_ticks + static_cast<int>(_random.below(static_cast<std::uint64_t>(_election_ticks)));
}

void raft::set_leader(voter_id leader) {
    if (leader != voter_id() && leader != _last_known_leader) {
        ++_counters.leader_changes;
        _last_known_leader = leader;
    }
    _leader = leader;
}

void raft::send(voter_id to, message_body body) { _outbox.push_back({_config.id, to, std::move(body)}); }

void raft::mark_unstable(log_index from) { _unstable_from = std::min(_unstable_from, from); }

// ---- roles -------------------------------------------------------------------------------

void raft::become_follower(raft_term term, voter_id leader) {
    if (term < _term) {
        invariant_broken(fmt::format("raft {}", _config.id), "become follower at term {} below current term {}", term, _term);
    }
    if (term > _term) {
        _term = term;
        _vote = voter_id();
    }
    _role = role::follower;
    _progress.clear();
    _votes.clear();
    _broadcast_pending = false;
    set_leader(leader);
    reset_election_timer();
}

void raft::become_pre_candidate() {
    // No term change and no vote (Raft thesis §9.6): nobody's state moves until a majority
    // says this voter could win.
    _role = role::pre_candidate;
    _leader = voter_id();
    _votes = {{_config.id, true}};
    reset_election_timer();
    ++_counters.pre_elections;
}

void raft::become_candidate() {
    if (_term >= max_term) {
        invariant_broken(fmt::format("raft {}", _config.id), "campaigning past the largest term {}",
                         max_term);
    }
    _role = role::candidate;
    _term = _term.next();
    _vote = _config.id;
    _leader = voter_id();
    _votes = {{_config.id, true}};
    reset_election_timer();
    ++_counters.elections;
    log_to(_logger, log_level::debug, "raft {}: campaigning at term {}", _config.id, _term);
}

void raft::become_leader() {
    _role = role::leader;
    _votes.clear();
    set_leader(_config.id);
    _heartbeat_elapsed = 0;
    _election_elapsed = 0;
    _progress.clear();
    for (voter_id v : _config.voters) {
        if (v != _config.id) {
            follower_progress p;
            p.next = _log.last_index().next();
            p.recent_active = true; // a fresh leader gives everyone one check-quorum period
            _progress.emplace(v, std::move(p));
        }
    }
    // Raft §5.4.2 and §8: entries of earlier terms commit only through an entry of this term.
    _log.append({_log.last_index().next(), _term, entry_kind::noop, {}});
    mark_unstable(_log.last_index());
    log_to(_logger, log_level::debug, "raft {}: leader at term {}", _config.id, _term);
    maybe_commit();
    broadcast_append(false);
}

void raft::campaign(bool pre) {
    if (_term >= max_term) {
        // The next term would pass the bound (and, near 2^64, wrap). A voter gets here after 2^62
        // elections, or from a message of a voter already here (every larger term is refused):
        // stay a follower, under whichever voter leads this term. Logged once; counted every time.
        if (_counters.campaigns_at_max_term++ == 0) {
            log_to(_logger, log_level::error,
                   "raft {}: term {} is the largest term a voter takes; this voter no longer campaigns",
                   _config.id, _term);
        }
        reset_election_timer();
        return;
    }
    if (_config.voters.size() > 1 && _role == role::follower) {
        // Why an election starts, once per election (an idle cluster should never log this).
        if (_leader != voter_id()) {
            log_to(_logger, log_level::info,
                   "raft {}: no message from leader {} in {} ticks (election timeout); starting {} for term {}",
                   _config.id, _leader, _election_elapsed, pre ? "a pre-vote" : "an election", _term.next());
        } else {
            log_to(_logger, log_level::info, "raft {}: no leader known after {} ticks; starting {} for term {}",
                   _config.id, _election_elapsed, pre ? "a pre-vote" : "an election", _term.next());
        }
    }
    if (pre) {
        become_pre_candidate();
    } else {
        become_candidate();
    }
    if (_votes.size() >= quorum()) { // a single voter wins at once
        if (pre) {
            campaign(false);
        } else {
            become_leader();
        }
        return;
    }
    const raft_term requested = pre ? _term.next() : _term;
    for (voter_id v : _config.voters) {
        if (v != _config.id) {
            send(v, vote_request{requested, _log.last_index(), _log.last_term(), pre});
        }
    }
}

// ---- time --------------------------------------------------------------------------------

void raft::tick() {
    ++_ticks;
    if (_silences.tick()) {
        adapt_election_timeout();
    }
    if (_role == role::leader) {
        tick_leader();
        return;
    }
    if (++_election_elapsed >= _randomized_timeout) {
        campaign(_config.pre_vote);
    }
}

void raft::tick_leader() {
    ++_heartbeat_elapsed;
    if (++_election_elapsed >= _election_ticks) {
        _election_elapsed = 0;
        if (_config.check_quorum) {
            if (!quorum_active()) {
                ++_counters.check_quorum_step_downs;
                std::vector<voter_id> heard;
                for (const auto& [v, p] : _progress) {
                    if (p.recent_active) {
                        heard.push_back(v);
                    }
                }
                log_to(_logger, log_level::warn,
                       "raft {}: stepping down at term {}: lost check-quorum, heard from {} other voter(s) [{}] "
                       "of {} in the last {} ticks",
                       _config.id, _term, heard.size(), fmt::join(heard, ", "), _config.voters.size(),
                       _election_ticks);
                become_follower(_term, voter_id());
                return;
            }
            for (auto& [v, p] : _progress) {
                p.recent_active = false;
            }
        }
    }
    for (auto& [v, p] : _progress) {
        // A snapshot that got no answer within an election timeout is sent again.
        if (p.mode == follower_progress::state::snapshot && ++p.snapshot_ticks >= _election_ticks) {
            p.mode = follower_progress::state::probe;
            p.probe_sent = false;
        }
    }
    if (_heartbeat_elapsed >= _config.heartbeat_ticks) {
        _heartbeat_elapsed = 0;
        broadcast_append(true);
    }
}

bool raft::quorum_active() const {
    std::size_t active = 1; // this leader
    for (const auto& [v, p] : _progress) {
        active += p.recent_active ? 1 : 0;
    }
    return active >= quorum();
}

void raft::note_heard(voter_id from, const message_body& body) {
    if (!adaptive()) {
        return;
    }
    // Only the traffic whose silences make elections and step-downs: a follower hearing its
    // leader, a leader hearing its followers' answers.
    const bool answer =
        std::holds_alternative<append_reply>(body) || std::holds_alternative<snapshot_reply>(body);
    const bool steady = (_role == role::follower && from == _leader && from_leader(body)) ||
                        (_role == role::leader && answer);
    last_heard& h = _heard[from];
    if (steady && h.steady && h.term == _term) {
        const std::int64_t silence = _ticks - h.at;
        if (silence <= _config.max_election_ticks) {
            _silences.add(silence);
        }
    }
    h = {_ticks, _term, steady};
}

void raft::adapt_election_timeout() {
    if (!adaptive()) {
        return;
    }
    const std::int64_t usual = _silences.typical_longest();
    const int before = _election_ticks;
    _election_ticks = static_cast<int>(
        std::clamp<std::int64_t>(2 * usual, _config.election_ticks, _config.max_election_ticks));
    if (_election_ticks != before) {
        // The running timer takes the new timeout now (a follower may hear its leader for hours
        // without a reset of its role), keeping the ticks already elapsed.
        _randomized_timeout =
            _election_ticks + static_cast<int>(_random.below(static_cast<std::uint64_t>(_election_ticks)));
    }
    // One line when the timeout has moved by half or more since the last line.
    if (2 * _election_ticks >= 3 * _logged_election_ticks || 3 * _election_ticks <= 2 * _logged_election_ticks) {
        log_to(_logger, log_level::info,
               "raft {}: election timeout now {} ticks (was {}): the usual longest silence between voters is {} "
               "ticks",
               _config.id, _election_ticks, _logged_election_ticks, usual);
        _logged_election_ticks = _election_ticks;
    }
}

// ---- messages ----------------------------------------------------------------------------

void raft::step(const message& m) {
    if (!is_voter(m.from) || m.from == _config.id || m.to != _config.id) {
        ++_counters.dropped_unknown_voter;
        return;
    }
    if (auto why = term_out_of_range(m.body)) {
        // Before the term is looked at: taking it would make every later term wrap.
        ++_counters.dropped_invalid;
        log_to(_logger, log_level::warn, "raft {}: refused a message from voter {}: {}", _config.id, m.from,
               *why);
        return;
    }
    const raft_term mterm = term_of(m.body);
    const auto* vreq = std::get_if<vote_request>(&m.body);
    const auto* vrep = std::get_if<vote_reply>(&m.body);

    if (mterm > _term) {
        if (vreq != nullptr) {
            // Thesis §6.2 / §9.6: while a leader is heard from, vote requests are disruptions.
            const bool in_lease =
                _config.check_quorum && _leader != voter_id() && _election_elapsed < _election_ticks;
            if (in_lease) {
                ++_counters.votes_ignored_in_lease;
                return;
            }
        }
        if (vreq != nullptr && vreq->pre_vote) {
            // A pre-vote request does not change our term.
        } else if (vrep != nullptr && vrep->pre_vote && vrep->granted) {
            // A granted pre-vote carries the term we asked for; we raise it when we campaign.
        } else {
            if (_role == role::leader) {
                ++_counters.higher_term_step_downs;
                log_to(_logger, log_level::warn, "raft {}: stepping down at term {}: voter {} sent {} at term {}",
                       _config.id, _term, m.from, kind_of(m.body), mterm);
            }
            become_follower(mterm, from_leader(m.body) ? m.from : voter_id());
        }
    } else if (mterm < _term) {
        if ((_config.check_quorum || _config.pre_vote) && from_leader(m.body)) {
            // A stale leader; tell it the current term so that it steps down (with pre-vote the
            // voters that moved on would otherwise never make it notice).
            send(m.from, append_reply{_term, false, log_index(), log_index(), raft_term()});
        } else if (vreq != nullptr && vreq->pre_vote) {
            send(m.from, vote_reply{_term, false, true});
        }
        ++_counters.dropped_stale_term;
        return;
    }

    if (auto why = invalid(m.body)) {
        ++_counters.dropped_invalid;
        log_to(_logger, log_level::warn, "raft {}: refused a message from voter {}: {}", _config.id, m.from, *why);
        return;
    }

    if (_role == role::leader) {
        if (auto it = _progress.find(m.from); it != _progress.end()) {
            it->second.recent_active = true;
        }
    }
    note_heard(m.from, m.body);

    std::visit(
        [&](const auto& body) {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, vote_request>) {
                handle_vote_request(m.from, body);
            } else if constexpr (std::is_same_v<T, vote_reply>) {
                handle_vote_reply(m.from, body);
            } else if constexpr (std::is_same_v<T, append_request>) {
                handle_append(m.from, body);
            } else if constexpr (std::is_same_v<T, append_reply>) {
                handle_append_reply(m.from, body);
            } else if constexpr (std::is_same_v<T, snapshot_request>) {
                handle_snapshot(m.from, body);
            } else if constexpr (std::is_same_v<T, snapshot_reply>) {
                handle_snapshot_reply(m.from, body);
            }
        },
        m.body);
}

void raft::handle_vote_request(voter_id from, const vote_request& m) {
    // Raft §5.2, §5.4.1 (and the thesis §9.6 for pre-votes, which may be for a future term).
    const bool can_vote =
        _vote == from || (_vote == voter_id() && _leader == voter_id()) || (m.pre_vote && m.term > _term);
    if (can_vote && _log.is_up_to_date(m.last_index, m.last_term)) {
        send(from, vote_reply{m.term, true, m.pre_vote});
        if (!m.pre_vote) {
            _vote = from;
            _election_elapsed = 0;
        }
    } else {
        send(from, vote_reply{_term, false, m.pre_vote});
    }
}

void raft::handle_vote_reply(voter_id from, const vote_reply& m) {
    const bool expected =
        (_role == role::pre_candidate && m.pre_vote) || (_role == role::candidate && !m.pre_vote);
    if (!expected) {
        return;
    }
    _votes.emplace(from, m.granted); // the first answer of each voter counts
    std::size_t granted = 0;
    for (const auto& [v, g] : _votes) {
        granted += g ? 1 : 0;
    }
    const std::size_t rejected = _votes.size() - granted;
    if (granted >= quorum()) {
        if (_role == role::pre_candidate) {
            campaign(false);
        } else {
            become_leader();
        }
    } else if (rejected >= quorum()) {
        become_follower(_term, voter_id());
    }
}

std::optional<std::string> raft::term_out_of_range(const message_body& body) {
    // Every term a message carries, not only its own: invalid() bounds an entry's term by the
    // message's, but only after the message's term was taken, and nothing bounds a vote request's
    // last term or a reply's hint by anything else.
    raft_term largest = term_of(body);
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, vote_request>) {
                largest = std::max(largest, m.last_term);
            } else if constexpr (std::is_same_v<T, append_request>) {
                largest = std::max(largest, m.prev_term);
                for (const entry& e : m.entries) {
                    largest = std::max(largest, e.term);
                }
            } else if constexpr (std::is_same_v<T, append_reply>) {
                largest = std::max(largest, m.hint_term);
            } else if constexpr (std::is_same_v<T, snapshot_request>) {
                largest = std::max(largest, m.last_term);
            }
        },
        body);
    if (largest > max_term) {
        return fmt::format("term {} is above the largest term {}", largest, max_term);
    }
    return std::nullopt;
}

std::optional<std::string> raft::invalid(const message_body& body) const {
    if (const auto* a = std::get_if<append_request>(&body)) {
        // A leader sends a slice of its log: consecutive indices after prev_index, terms that
        // never go down along the log and never exceed its own term.
        raft_term previous = a->prev_term;
        for (std::size_t i = 0; i < a->entries.size(); ++i) {
            const entry& e = a->entries[i];
            if (e.index != a->prev_index + (i + 1)) {
                return fmt::format("append entry {} at index {}, where {} follows {}", i, e.index,
                                   a->prev_index + (i + 1), a->prev_index);
            }
            if (e.term < previous || e.term > a->term) {
                return fmt::format("append entry {} of term {} after term {} in a message of term {}", e.index,
                                   e.term, previous, a->term);
            }
            previous = e.term;
        }
        if (a->prev_term > a->term) {
            return fmt::format("append after term {} in a message of term {}", a->prev_term, a->term);
        }
    } else if (const auto* r = std::get_if<append_reply>(&body)) {
        // A follower can only have matched what a leader sent it; a leader's log never shrinks.
        if (_role == role::leader && r->success && r->index > _log.last_index()) {
            return fmt::format("append acknowledged up to {}, beyond the last entry {}", r->index,
                               _log.last_index());
        }
    } else if (const auto* s = std::get_if<snapshot_reply>(&body)) {
        if (_role == role::leader && s->accepted && s->match_index > _log.last_index()) {
            return fmt::format("snapshot acknowledged up to {}, beyond the last entry {}", s->match_index,
                               _log.last_index());
        }
    }
    return std::nullopt;
}

void raft::handle_append(voter_id from, const append_request& m) {
    if (_role == role::leader) {
        // Two leaders in one term would break election safety: a bug on some voter. The bytes
        // came from the network, so drop them rather than abort.
        log_to(_logger, log_level::error, "raft {}: append from voter {} claiming leadership of my term {}",
               _config.id, from, _term);
        return;
    }
    if (_role != role::follower) {
        become_follower(_term, from);
    }
    _election_elapsed = 0;
    set_leader(from);

    if (m.prev_index < _commit) {
        // Everything up to the commit index already matches the leader (Leader Completeness).
        send(from, append_reply{_term, true, _commit, log_index(), raft_term()});
        return;
    }
    if (!_log.matches(m.prev_index, m.prev_term)) {
        // Raft §5.3: refuse, and say where the leader should look next.
        const log_index hint =
            _log.find_conflict_by_term(std::min(m.prev_index, _log.last_index()), m.prev_term);
        send(from, append_reply{_term, false, m.prev_index, hint, _log.term(hint).value_or(raft_term())});
        return;
    }
    for (const entry& e : m.entries) {
        if (e.index <= _log.last_index()) {
            if (_log.matches(e.index, e.term)) {
                continue;
            }
            if (e.index <= _commit) {
                // Unreachable from the network: prev_index >= _commit here (checked above), so
                // every entry of the message lies past the commit index.
                invariant_broken(fmt::format("raft {}", _config.id), "leader {} conflicts with committed entry {}",
                                 from, e.index);
            }
            _log.truncate_after(e.index.prev());
        }
        _log.append(e);
        mark_unstable(e.index);
    }
    const log_index last_new = m.prev_index + m.entries.size();
    _commit = std::max(_commit, std::min(m.commit, last_new));
    send(from, append_reply{_term, true, last_new, log_index(), raft_term()});
}

void raft::handle_snapshot(voter_id from, const snapshot_request& m) {
    if (_role == role::leader) {
        log_to(_logger, log_level::error, "raft {}: snapshot from voter {} claiming leadership of my term {}",
               _config.id, from, _term);
        return;
    }
    if (_role != role::follower) {
        become_follower(_term, from);
    }
    _election_elapsed = 0;
    set_leader(from);
    if (m.last_index <= _commit) {
        send(from, snapshot_reply{_term, true, _commit});
        return;
    }
    if (_log.matches(m.last_index, m.last_term)) {
        // We already hold the entries the snapshot covers: they are committed.
        _commit = m.last_index;
        send(from, snapshot_reply{_term, true, m.last_index});
        return;
    }
    // Raft §7: discard the log and take the snapshot.
    const snapshot_meta meta{m.last_index, m.last_term};
    _log.reset(meta);
    _snapshot = snapshot{meta, std::make_shared<const bytes>(m.data)};
    _pending_persist_snapshot = _snapshot;
    _pending_snapshot_replaces_log = true;
    _pending_apply_snapshot = _snapshot;
    _commit = meta.index;
    _applied = meta.index;
    _unstable_from = meta.index.next();
    ++_counters.snapshots_installed;
    log_to(_logger, log_level::info, "raft {}: installed snapshot at index {} term {} from leader {}",
           _config.id, meta.index, meta.term, from);
    send(from, snapshot_reply{_term, true, meta.index});
}

void raft::handle_append_reply(voter_id from, const append_reply& m) {
    if (_role != role::leader) {
        return;
    }
    auto& p = _progress.at(from);
    using state = follower_progress::state;
    if (!m.success) {
        if (p.mode == state::replicate) {
            if (m.index <= p.match) {
                return; // stale
            }
        } else if (p.mode == state::probe) {
            if (m.index != p.next.prev()) {
                return; // answers an older probe
            }
        } else {
            return; // waiting for the snapshot's answer
        }
        log_index probe_from = m.hint_index;
        if (m.hint_term != raft_term()) {
            probe_from = _log.find_conflict_by_term(m.hint_index, m.hint_term);
        }
        p.next = std::max(std::min(m.index, probe_from.next()), p.match.next());
        p.mode = state::probe;
        p.probe_sent = false;
        p.inflight.clear();
        send_append(from, false);
        return;
    }
    bool advanced = false;
    if (m.index > p.match) {
        p.match = m.index;
        advanced = true;
    }
    p.next = std::max(p.next, m.index.next());
    while (!p.inflight.empty() && p.inflight.front() <= m.index) {
        p.inflight.pop_front();
    }
    if (p.mode == state::probe) {
        p.mode = state::replicate;
        p.next = p.match.next();
        p.inflight.clear();
    } else if (p.mode == state::snapshot && p.match >= p.pending_snapshot) {
        p.mode = state::replicate;
        p.next = p.match.next();
    }
    p.probe_sent = false;
    if (advanced && maybe_commit()) {
        // Tell the followers at once, even with nothing new to send: their state machines (and
        // the views they publish) would otherwise wait for the next heartbeat.
        broadcast_append(true);
    } else {
        send_append(from, false);
    }
}

void raft::handle_snapshot_reply(voter_id from, const snapshot_reply& m) {
    if (_role != role::leader) {
        return;
    }
    auto& p = _progress.at(from);
    if (p.mode != follower_progress::state::snapshot || !m.accepted) {
        return;
    }
    p.match = std::max(p.match, m.match_index);
    p.next = p.match.next();
    p.mode = follower_progress::state::probe;
    p.probe_sent = false;
    send_append(from, false);
}

// ---- replication -------------------------------------------------------------------------

void raft::send_append(voter_id to, bool heartbeat) {
    auto& p = _progress.at(to);
    using state = follower_progress::state;
    for (bool first = true;; first = false) {
        if (p.mode == state::snapshot) {
            return;
        }
        if (p.mode == state::probe && p.probe_sent && !(heartbeat && first)) {
            return;
        }
        if (p.mode == state::replicate && p.inflight.size() >= _config.max_inflight &&
            !(heartbeat && first)) {
            return;
        }
        const log_index prev = p.next.prev();
        const auto prev_term = _log.term(prev);
        if (!prev_term) {
            // The follower needs entries that were compacted away (Raft §7).
            if (!_snapshot) {
                invariant_broken(fmt::format("raft {}", _config.id), "no snapshot for follower {} at next {}", to, p.next);
            }
            send(to, snapshot_request{_term, _snapshot->meta.index, _snapshot->meta.term, *_snapshot->data});
            p.mode = state::snapshot;
            p.pending_snapshot = _snapshot->meta.index;
            p.snapshot_ticks = 0;
            p.inflight.clear();
            ++_counters.snapshots_sent;
            log_to(_logger, log_level::info, "raft {}: sending snapshot at index {} to voter {}", _config.id,
                   _snapshot->meta.index, to);
            return;
        }
        const bool full = p.mode == state::replicate && p.inflight.size() >= _config.max_inflight;
        std::vector<entry> entries;
        if (!full && p.next <= _log.last_index()) {
            entries =
                _log.slice(p.next, _log.last_index(), _config.max_append_entries, _config.max_append_bytes);
        }
        if (entries.empty() && !(heartbeat && first)) {
            return;
        }
        const log_index last = entries.empty() ? prev : entries.back().index;
        // The commit index sent never runs past what this message lets the follower match.
        send(to, append_request{_term, prev, *prev_term, std::move(entries), _commit});
        if (p.mode == state::probe) {
            p.probe_sent = true;
            return;
        }
        if (last > prev) {
            p.next = last.next();
            p.inflight.push_back(last);
        } else {
            return;
        }
    }
}

void raft::broadcast_append(bool heartbeat) {
    _broadcast_pending = false;
    for (auto& [v, p] : _progress) {
        send_append(v, heartbeat);
    }
}

bool raft::maybe_commit() {
    std::vector<log_index> matches;
    matches.push_back(_log.last_index()); // persisted before anyone can acknowledge (see `ready`)
    for (const auto& [v, p] : _progress) {
        matches.push_back(p.match);
    }
    const log_index candidate = quorum_index(std::move(matches), quorum());
    // Raft §5.4.2: only an entry of the current term is committed by counting replicas.
    if (candidate > _commit && _log.term(candidate) == _term) {
        _commit = candidate;
        return true;
    }
    return false;
}

// ---- client side -------------------------------------------------------------------------

result<log_index, propose_error> raft::propose(bytes data) {
    if (_role != role::leader) {
        return propose_error::not_leader;
    }
    const log_index index = _log.last_index().next();
    _log.append({index, _term, entry_kind::normal, std::move(data)});
    mark_unstable(index);
    ++_counters.proposals;
    _broadcast_pending = true;
    maybe_commit(); // a single voter commits at once
    return index;
}

void raft::compact(log_index index, std::shared_ptr<const bytes> data) {
    if (index < _log.snapshot_point().index || index > _applied) {
        invariant_broken(fmt::format("raft {}", _config.id), "compact to {} outside [{}, {}]", index, _log.snapshot_point().index, _applied);
    }
    if (index == _log.snapshot_point().index) {
        return;
    }
    _log.compact(index);
    _snapshot = snapshot{_log.snapshot_point(), std::move(data)};
    _pending_persist_snapshot = _snapshot;
    _pending_snapshot_replaces_log = false;
}

// ---- output ------------------------------------------------------------------------------

bool raft::has_ready() const {
    return _broadcast_pending || !_outbox.empty() || _pending_persist_snapshot || _pending_apply_snapshot ||
           _unstable_from <= _log.last_index() || _commit > _applied ||
           hard_state{_term, _vote, _commit} != _persisted_hard ||
           soft_state{_role, _leader} != _reported_soft;
}

ready raft::take_ready() {
    if (_broadcast_pending) {
        broadcast_append(false);
    }
    ready r;
    r.persist_snapshot = std::move(_pending_persist_snapshot);
    r.snapshot_replaces_log = _pending_snapshot_replaces_log;
    _pending_persist_snapshot.reset();
    _pending_snapshot_replaces_log = false;
    if (_unstable_from <= _log.last_index()) {
        r.entries = _log.slice(std::max(_unstable_from, _log.first_index()), _log.last_index());
    }
    _unstable_from = _log.last_index().next();
    // Appends of a term whose hard state an earlier ready handed out leave before this one is
    // persisted (see `ready`); everything else waits for it.
    const raft_term handed_out_term = _persisted_hard.term;
    for (auto& m : _outbox) {
        const auto* a = std::get_if<append_request>(&m.body);
        if (_config.early_appends && a != nullptr && a->term == handed_out_term && a->term == _term &&
            _role == role::leader) {
            r.early_messages.push_back(std::move(m));
        } else {
            r.messages.push_back(std::move(m));
        }
    }
    _outbox.clear();
    const hard_state hard{_term, _vote, _commit};
    if (hard != _persisted_hard) {
        r.hard = hard;
        r.hard_moves_only_commit = hard.term == _persisted_hard.term && hard.vote == _persisted_hard.vote;
        _persisted_hard = hard;
    }
    r.apply_snapshot = std::move(_pending_apply_snapshot);
    _pending_apply_snapshot.reset();
    if (_commit > _applied) {
        r.committed = _log.slice(_applied.next(), _commit);
        _applied = _commit;
    }
    const soft_state soft{_role, _leader};
    if (soft != _reported_soft) {
        r.soft = soft;
        _reported_soft = soft;
    }
    return r;
}

} // namespace roster::consensus
