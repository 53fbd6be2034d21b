#include "daemon/metrics.hh"

#include <fmt/format.h>

namespace roster::daemon {

result<std::unique_ptr<metrics>, std::string> metrics::start(const endpoint& where,
                                                             const std::string& cluster,
                                                             const std::string& name, bool voter,
                                                             std::size_t member_limit) {
    try {
        return std::unique_ptr<metrics>(new metrics(where, cluster, name, voter, member_limit));
    } catch (const std::exception& e) {
        return fmt::format("cannot serve metrics on {} (--metrics-listen): {}", where.text(), e.what());
    }
}

metrics::metrics(const endpoint& where, const std::string& cluster, const std::string& name, bool voter,
                 std::size_t member_limit)
    : _registry(std::make_shared<prometheus::Registry>())
    , _member_limit(member_limit) {
    _exposer = std::make_unique<prometheus::Exposer>(where.text(), 2);
    _exposer->RegisterCollectable(_registry);
    auto& build = prometheus::BuildGauge()
                      .Name("roster_build_info")
                      .Help("Build information of this rosterd")
                      .Register(*_registry);
    build
        .Add({{"version", ROSTER_VERSION},
              {"cluster", cluster},
              {"node", name},
              {"role", voter ? "voter" : "member"}})
        .Set(1);
    _received = &prometheus::BuildCounter()
                     .Name("roster_messages_received_total")
                     .Help("Messages received, by socket")
                     .Register(*_registry);
    _dropped = &prometheus::BuildCounter()
                    .Name("roster_messages_dropped_total")
                    .Help("Messages dropped, by socket and reason")
                    .Register(*_registry);
    _view_id = &prometheus::BuildGauge().Name("roster_view_id").Help("Current view id").Register(*_registry);
    _members = &prometheus::BuildGauge()
                    .Name("roster_view_members")
                    .Help("Members in the current view")
                    .Register(*_registry);
    _view_id_g = &_view_id->Add({});
    _members_g = &_members->Add({});
    _fsync = &prometheus::BuildHistogram()
                  .Name("roster_storage_fsync_seconds")
                  .Help("Time to make one batch durable")
                  .Register(*_registry);
    _fsync_hist =
        &_fsync->Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                                 0.005, 0.01, 0.025, 0.05, 0.1, 0.25});
}

void metrics::received(const std::string& socket) { _received->Add({{"socket", socket}}).Increment(); }

void metrics::dropped(const std::string& socket, const std::string& reason) {
    _dropped->Add({{"socket", socket}, {"reason", reason}}).Increment();
}

void metrics::fsync_seconds(double s) { _fsync_hist->Observe(s); }
void metrics::storage_bytes(std::uint64_t) {}

void metrics::update(const node::voter_node& v, mono_time) {
    _view_id_g->Set(static_cast<double>(v.view().id.value()));
    _members_g->Set(static_cast<double>(v.view().members.size()));
}

void metrics::update(const node::member_node& m) {
    _view_id_g->Set(static_cast<double>(m.view().id.value()));
    _members_g->Set(static_cast<double>(m.view().members.size()));
}

void metrics::on_event(const node::voter_event&) {}

} // namespace roster::daemon
