// The prior-study prefetch the worklist runs for each new study (server/prefetch.cpp).
#pragma once

#include <functional>

#include "dimse/dimse_server.h"
#include "server/server.h"
#include "storage/workflow_store.h"
#include "workflow/worklist_service.h"

namespace radflow::server {

// nullptr when no --prefetch-from names a --modality.
std::function<void(workflow::WorklistService&, const storage::WorklistItem&)> MakePrefetch(
    const ServerConfig& config, const dimse::DimseConfig& dimse_config);

}  // namespace radflow::server
