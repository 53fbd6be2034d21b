#pragma once

// The structured input of the sqlite_storage target: how to build a data file with the real
// storage's writer (so that its checksums are right), then damage it with SQL behind its back.
// Little-endian records, one after another; a record cut short ends the script:
//   'H' term:u64 vote:u32 commit:u64                    save a hard state
//   'E' index:u64 term:u64 kind:u8 size:u16 data        save one entry (skipped unless it follows the log)
//   'P' index:u64 term:u64 replaces:u8 size:u16 data    save a snapshot (replaces: the whole log)
//   'Q' size:u16 sql                                    after the writer closed: run this SQL on the file
// fuzz/make_corpus.cc writes seeds in this form with `writer`; save() replays the writing records.

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/bytes.hh"
#include "consensus/state.hh"
#include "consensus/storage.hh"

namespace roster::fuzz::storage_script {

struct save_hard {
    consensus::hard_state hard;
};
struct save_entry {
    consensus::entry e;
};
struct save_snapshot {
    consensus::snapshot_meta meta;
    bool replaces = false;
    bytes data;
};
struct tamper {
    std::string sql;
};
using record = std::variant<save_hard, save_entry, save_snapshot, tamper>;

class reader {
public:
    explicit reader(bytes_view in)
        : _in(in) {}
    [[nodiscard]] bool more() const { return _at < _in.size(); }
    template <typename T>
    std::optional<T> get() {
        if (_in.size() - _at < sizeof(T)) {
            _at = _in.size();
            return std::nullopt;
        }
        T v;
        std::memcpy(&v, _in.data() + _at, sizeof v);
        _at += sizeof v;
        return v;
    }
    std::optional<bytes> blob() {
        const auto n = get<std::uint16_t>();
        if (!n || _in.size() - _at < *n) {
            _at = _in.size();
            return std::nullopt;
        }
        bytes out(_in.begin() + static_cast<std::ptrdiff_t>(_at),
                  _in.begin() + static_cast<std::ptrdiff_t>(_at + *n));
        _at += *n;
        return out;
    }

private:
    bytes_view _in;
    std::size_t _at = 0;
};

inline std::vector<record> read_script(bytes_view in) {
    std::vector<record> out;
    reader r(in);
    while (r.more()) {
        const auto tag = r.get<char>();
        if (tag == 'H') {
            const auto term = r.get<std::uint64_t>();
            const auto vote = r.get<std::uint32_t>();
            const auto commit = r.get<std::uint64_t>();
            if (!commit) {
                break;
            }
            out.push_back(save_hard{{raft_term(*term), voter_id(*vote), log_index(*commit)}});
        } else if (tag == 'E' || tag == 'P') {
            const auto index = r.get<std::uint64_t>();
            const auto term = r.get<std::uint64_t>();
            const auto flag = r.get<std::uint8_t>();
            auto data = r.blob();
            if (!data) {
                break;
            }
            if (*tag == 'E') {
                out.push_back(save_entry{{log_index(*index), raft_term(*term),
                                          static_cast<consensus::entry_kind>(*flag), std::move(*data)}});
            } else {
                out.push_back(
                    save_snapshot{{log_index(*index), raft_term(*term)}, (*flag & 1) != 0, std::move(*data)});
            }
        } else if (tag == 'Q') {
            auto sql = r.blob();
            if (!sql) {
                break;
            }
            out.push_back(tamper{std::string(sql->begin(), sql->end())});
        } else {
            break; // an unknown record ends the script
        }
    }
    return out;
}

// Saves the writing records (H, E, P) through `storage`, one ready each, keeping save()'s
// pre-condition as raft does: an entry at or below the snapshot, or past the next index, is
// skipped. The first error save() returns, or nothing.
inline std::optional<consensus::storage_error> save(consensus::storage& storage,
                                                    const std::vector<record>& records) {
    log_index snapshot_index, last_index;
    for (const auto& r : records) {
        consensus::ready rd;
        if (const auto* h = std::get_if<save_hard>(&r)) {
            rd.hard = h->hard;
        } else if (const auto* e = std::get_if<save_entry>(&r)) {
            if (e->e.index <= snapshot_index || e->e.index > last_index.next()) {
                continue;
            }
            rd.entries.push_back(e->e);
            last_index = e->e.index;
        } else if (const auto* p = std::get_if<save_snapshot>(&r)) {
            rd.persist_snapshot = consensus::snapshot{p->meta, std::make_shared<const bytes>(p->data)};
            rd.snapshot_replaces_log = p->replaces;
            snapshot_index = p->meta.index;
            if (p->replaces || last_index < snapshot_index) {
                last_index = snapshot_index;
            }
        } else {
            continue;
        }
        if (auto err = storage.save(rd)) {
            return err;
        }
    }
    return std::nullopt;
}

class writer {
public:
    writer& hard(const consensus::hard_state& h) {
        put('H');
        put(h.term.value());
        put(h.vote.value());
        put(h.commit.value());
        return *this;
    }
    writer& entry(const consensus::entry& e) {
        put('E');
        put(e.index.value());
        put(e.term.value());
        put(static_cast<std::uint8_t>(e.kind));
        blob(e.data);
        return *this;
    }
    writer& snapshot(consensus::snapshot_meta meta, bool replaces, const bytes& data) {
        put('P');
        put(meta.index.value());
        put(meta.term.value());
        put(static_cast<std::uint8_t>(replaces ? 1 : 0));
        blob(data);
        return *this;
    }
    writer& sql(const std::string& text) {
        put('Q');
        blob(bytes(text.begin(), text.end()));
        return *this;
    }
    [[nodiscard]] const bytes& out() const { return _out; }

private:
    template <typename T>
    void put(T v) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
        _out.insert(_out.end(), p, p + sizeof v);
    }
    void blob(const bytes& b) {
        put(static_cast<std::uint16_t>(b.size()));
        _out.insert(_out.end(), b.begin(), b.end());
    }
    bytes _out;
};

} // namespace roster::fuzz::storage_script
