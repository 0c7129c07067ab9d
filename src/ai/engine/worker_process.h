// A worker process per job: its own process group (a timeout kills the app and anything it
// started), killed with the server (PR_SET_PDEATHSIG), output into a log file.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "base/status.h"

namespace radflow::ai {

// fork + exec of argv[0] with argv; stdout and stderr to log_path.
Result<pid_t> SpawnWorker(const std::vector<std::string>& argv, const std::string& log_path);
// SIGKILL to the worker's process group.
void KillWorker(pid_t pid);
// Blocks until the worker has exited, without reaping it (its pid cannot be reused yet).
void WaitWorkerExit(pid_t pid);
// Blocks until the worker exits and reaps it; returns the raw wait status.
int WaitWorker(pid_t pid);
// Reaps the worker if it has exited (true, *status = the raw wait status); false while it
// runs. For a caller that watches other things meanwhile (the remote worker's lease).
bool TryReapWorker(pid_t pid, int* status);
// "exit code 3", "killed by signal 9 (Killed)".
std::string DescribeWaitStatus(int status);
// The last `max_bytes` of a log file (for error messages).
std::string LogTail(const std::string& path, size_t max_bytes = 2000);

}  // namespace radflow::ai
