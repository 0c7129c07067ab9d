// REST API of the scheduling analytics (docs/scheduling.md; clinical staff read, by the
// access rules):
//
//   GET /api/v1/scheduling/days?from=<ms>&to=<ms>&station=AE
//       → {"from","to","days":[{station_ae,date,booked,performed,no_shows,cancelled,pending,...}]}
//   GET /api/v1/scheduling/risky?from=<ms>&to=<ms>&threshold=0.5&overbook=0.7 (the defaults)&station=AE
//       → {"from","to","threshold","overbook","model":bool,"items":[{"order":{...},"action","why"}]}
//   GET /api/v1/scheduling/stations → {"stations":[{station_ae,station_name,open,close,configured}]}
//
// from/to default to the local week starting today (from = local midnight, to = +7 days);
// a range is at most 92 days. Station hours are the order service's (--station-hours FILE).
// station=UNASSIGNED means the orders without a ScheduledStationAETitle.
#pragma once

#include "http/http_server.h"
#include "orders/order_service.h"

namespace radflow::api {

void RegisterSchedulingApi(http::HttpServer& server, orders::OrderService& orders);

}  // namespace radflow::api
