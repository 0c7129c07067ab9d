// The ClusterBus of a PostgreSQL index (docs/postgresql.md "Several nodes: events and
// stability"): LISTEN on a connection of its own, watched by one thread (poll on PQsocket,
// PQconsumeInput, PQnotifies); pg_notify(channel, payload) on another to publish. When the
// server drops the listening connection (restart, failover, pg_terminate_backend) the thread
// connects again with a growing pause (100 ms … 2 s) and LISTENs again. Internal to the
// storage module: no other module sees libpq.
#pragma once

#include <memory>
#include <string>

#include "storage/cluster_bus.h"

namespace radflow::storage {

// The listening connection's application_name (pg_stat_activity shows which it is).
inline constexpr const char* kBusApplicationName = "radflow-bus";

Result<std::unique_ptr<ClusterBus>> OpenPgClusterBus(const std::string& uri,
                                                     const std::string& node_id);

}  // namespace radflow::storage
