#include "cli/user_command.h"

#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "audit/audit_trail.h"
#include "base/clock.h"
#include "cli/index_option.h"
#include "security/auth_service.h"
#include "storage/index.h"
#include "storage/index_location.h"

namespace radflow::cli {

namespace {

struct Options {
  std::string data = "./radflow-data";
  std::string index;  // "" → DATA/index.db
  std::string name, role, display_name, referring_name, label, user;
  bool password_stdin = false, no_password = false, set_password = false, enable = false, disable = false;
  std::optional<std::string> set_role, set_display, set_referring;
  int days = 90;
  int64_t token_id = 0;
};

int Fail(const std::string& command, const Status& status) {
  std::cerr << "radflow " << command << ": " << status.message() << "\n";
  return 1;
}

// The accounts of DATA and the audit trail their changes are written to.
struct CliAuth {
  std::unique_ptr<audit::AuditTrail> trail;
  std::unique_ptr<security::AuthService> service;
  security::AuthService* operator->() { return service.get(); }
  ~CliAuth() {
    service.reset();
    if (trail) trail->Stop();  // flushes: the events are durable before the command returns
  }
};

// Opens the index (applying the schema migrations), the audit trail and the accounts of
// DATA. No DATA/radflow.lock: a running server may have it.
Result<std::unique_ptr<CliAuth>> OpenAuth(const std::string& data, const std::string& index_arg) {
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  if (ec) return {ErrorCode::kIoError, "cannot create " + data + ": " + ec.message()};
  const std::string db = storage::IndexLocation(data, index_arg);
  auto index = storage::Index::Open(db);
  if (!index.ok()) return index.status();
  index.value().reset();
  auto out = std::make_unique<CliAuth>();
  audit::AuditOptions audit_options;
  audit_options.data_dir = data;
  audit_options.db_path = db;
  auto trail = audit::AuditTrail::Open(audit_options);
  if (trail.ok()) {
    out->trail = std::move(trail.value());
  } else {
    std::cerr << "radflow: warning: the audit trail cannot be opened, this change is not audited: "
              << trail.status().message() << "\n";
  }
  security::AuthOptions options;
  options.db_path = db;
  if (out->trail) options.audit = out->trail->Sink();
  auto service = security::AuthService::Open(std::move(options));
  if (!service.ok()) return service.status();
  out->service = std::move(service.value());
  return out;
}

// Who runs the command: the operating-system account.
security::Actor CliActor() {
  security::Actor actor;
  const passwd* pw = getpwuid(geteuid());
  actor.user = pw && pw->pw_name ? std::string("os:") + pw->pw_name : "os:" + std::to_string(geteuid());
  actor.source = "localhost";
  actor.interface = "cli";
  return actor;
}

// One line from the terminal without echo (termios), the prompt on stderr.
Result<std::string> ReadHidden(const std::string& prompt) {
  std::cerr << prompt << std::flush;
  termios old{};
  const bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (tty) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  std::cerr << "\n";
  if (!got) return {ErrorCode::kInvalidArgument, "no password given"};
  return line;
}

// The new password: asked twice on a terminal, else the first line of stdin. There is no
// default password.
Result<std::string> ReadNewPassword(bool from_stdin) {
  if (!from_stdin && isatty(STDIN_FILENO)) {
    auto first = ReadHidden("Password (at least " + std::to_string(security::kMinPasswordLength) + " characters): ");
    if (!first.ok()) return first.status();
    RADFLOW_RETURN_IF_ERROR(security::ValidatePassword(first.value()));
    auto second = ReadHidden("Repeat the password: ");
    if (!second.ok()) return second.status();
    if (first.value() != second.value()) return {ErrorCode::kInvalidArgument, "the passwords differ"};
    return first.value();
  }
  std::string line;
  if (!std::getline(std::cin, line)) return {ErrorCode::kInvalidArgument, "no password on stdin"};
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string When(int64_t ms) { return ms == 0 ? "-" : security::IsoTime(ms); }

int UserAdd(const Options& o) {
  security::NewUser user;
  user.name = o.name;
  user.role = o.role;
  user.display_name = o.display_name;
  user.referring_name = o.referring_name;
  user.no_password = o.no_password;
  // Cheap checks before asking for a password.
  if (Status s = security::ValidateUserName(o.name); !s.ok()) return Fail("user add", s);
  if (!o.no_password) {
    auto password = ReadNewPassword(o.password_stdin);
    if (!password.ok()) return Fail("user add", password.status());
    user.password = password.value();
  }
  auto auth = OpenAuth(o.data, o.index);
  if (!auth.ok()) return Fail("user add", auth.status());
  auto added = (*auth.value())->AddUser(user, CliActor());
  if (!added.ok()) return Fail("user add", added.status());
  std::cout << "added " << added->name << " (" << added->role << ")\n";
  return 0;
}

int UserList(const Options& o) {
  auto auth = OpenAuth(o.data, o.index);
  if (!auth.ok()) return Fail("user list", auth.status());
  auto users = (*auth.value())->ListUsers();
  if (!users.ok()) return Fail("user list", users.status());
  std::cout << "name\trole\tdisplay_name\treferring_name\tstate\tlast_login\n";
  const int64_t now = UnixMillis();
  for (const auto& u : users.value()) {
    std::string state = u.disabled ? "disabled" : u.locked_until > now ? "locked until " + When(u.locked_until) : "active";
    if (!u.has_password) state += " (no password)";
    std::cout << u.name << "\t" << u.role << "\t" << u.display_name << "\t" << u.referring_name << "\t" << state
              << "\t" << When(u.last_login) << "\n";
  }
  return 0;
}

int UserSet(const Options& o, const std::string& command) {
  security::UserChange change;
  change.role = o.set_role;
  change.display_name = o.set_display;
  change.referring_name = o.set_referring;
  if (o.enable && o.disable) return Fail(command, {ErrorCode::kInvalidArgument, "--enable and --disable exclude each other"});
  if (o.enable) change.disabled = false;
  if (o.disable || command == "user disable") change.disabled = true;
  if (o.set_password || o.password_stdin) {
    auto password = ReadNewPassword(o.password_stdin);
    if (!password.ok()) return Fail(command, password.status());
    change.password = password.value();
  }
  auto auth = OpenAuth(o.data, o.index);
  if (!auth.ok()) return Fail(command, auth.status());
  auto changed = (*auth.value())->UpdateUser(o.name, change, CliActor());
  if (!changed.ok()) return Fail(command, changed.status());
  std::cout << changed->name << " (" << changed->role << (changed->disabled ? ", disabled" : "") << ")\n";
  return 0;
}

int UserUnlock(const Options& o) {
  auto auth = OpenAuth(o.data, o.index);
  if (!auth.ok()) return Fail("user unlock", auth.status());
  if (Status s = (*auth.value())->Unlock(o.name, CliActor()); !s.ok()) return Fail("user unlock", s);
  std::cout << "unlocked " << o.name << "\n";
  return 0;
}

int TokenCreate(const Options& o) {
  auto auth = OpenAuth(o.data, o.index);
  if (!auth.ok()) return Fail("token create", auth.status());
  auto token = (*auth.value())->CreateToken(o.user, o.days, o.label, CliActor());
  if (!token.ok()) return Fail("token create", token.status());
  // Only the token on stdout, so that `TOKEN=$(radflow token create …)` works.
  std::cout << token->token << "\n";
  std::cerr << "token " << token->id << " for " << o.user << ", expires " << When(token->expires_at)
            << " (shown once; stored hashed)\n";
  return 0;
}

int TokenList(const Options& o) {
  auto auth = OpenAuth(o.data, o.index);
  if (!auth.ok()) return Fail("token list", auth.status());
  auto tokens = (*auth.value())->ListTokens(o.user);
  if (!tokens.ok()) return Fail("token list", tokens.status());
  std::cout << "id\tuser\tlabel\tcreated_at\texpires_at\tlast_used\tstate\n";
  const int64_t now = UnixMillis();
  for (const auto& t : tokens.value()) {
    const char* state = t.revoked_at ? "revoked" : (t.expires_at && t.expires_at <= now) ? "expired" : "active";
    std::cout << t.id << "\t" << t.user << "\t" << t.label << "\t" << When(t.created_at) << "\t"
              << (t.expires_at ? When(t.expires_at) : "never") << "\t" << When(t.last_used) << "\t" << state << "\n";
  }
  return 0;
}

int TokenRevoke(const Options& o) {
  auto auth = OpenAuth(o.data, o.index);
  if (!auth.ok()) return Fail("token revoke", auth.status());
  if (Status s = (*auth.value())->RevokeToken(o.token_id, CliActor()); !s.ok()) return Fail("token revoke", s);
  std::cout << "revoked token " << o.token_id << "\n";
  return 0;
}

}  // namespace

void AddUserCommands(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<Options>();
  auto data = [o](CLI::App* c) {
    c->add_option("--data", o->data, "data directory")->capture_default_str();
    AddIndexOption(c, &o->index);
  };

  auto* user = app.add_subcommand("user", "local accounts (docs/authentication.md)");
  user->require_subcommand(1);
  auto* add = user->add_subcommand("add", "add an account; the password is read from the terminal or stdin");
  data(add);
  add->add_option("name", o->name, "sign-in name")->required();
  add->add_option("--role", o->role,
                  "administrator | radiologist | technologist | referring | researcher | ai-service")
      ->required();
  add->add_option("--display-name", o->display_name, "shown in the web application");
  add->add_option("--referring-name", o->referring_name, "referring role: the DICOM PN of the physician's orders");
  add->add_flag("--password-stdin", o->password_stdin, "read the password from the first line of stdin");
  add->add_flag("--no-password", o->no_password, "an account without a password (API tokens only)");
  add->callback([o, &run] { run = [o] { return UserAdd(*o); }; });

  auto* list = user->add_subcommand("list", "list the accounts");
  data(list);
  list->callback([o, &run] { run = [o] { return UserList(*o); }; });

  auto* set = user->add_subcommand("set", "change an account");
  data(set);
  set->add_option("name", o->name, "sign-in name")->required();
  set->add_option("--role", o->set_role, "new role");
  set->add_option("--display-name", o->set_display, "new display name");
  set->add_option("--referring-name", o->set_referring, "new referring name");
  set->add_flag("--password", o->set_password, "set a new password (asked on the terminal, or stdin)");
  set->add_flag("--password-stdin", o->password_stdin, "set a new password read from the first line of stdin");
  set->add_flag("--enable", o->enable, "enable a disabled account");
  set->add_flag("--disable", o->disable, "disable the account (ends its sessions)");
  set->callback([o, &run] { run = [o] { return UserSet(*o, "user set"); }; });

  auto* disable = user->add_subcommand("disable", "disable an account (ends its sessions; tokens stop working)");
  data(disable);
  disable->add_option("name", o->name, "sign-in name")->required();
  disable->callback([o, &run] { run = [o] { return UserSet(*o, "user disable"); }; });

  auto* unlock = user->add_subcommand("unlock", "lift a lock-out after failed sign-ins");
  data(unlock);
  unlock->add_option("name", o->name, "sign-in name")->required();
  unlock->callback([o, &run] { run = [o] { return UserUnlock(*o); }; });

  auto* token = app.add_subcommand("token", "API tokens for scripts, DICOMweb clients and AI workers");
  token->require_subcommand(1);
  auto* create = token->add_subcommand("create", "create a bearer token; prints only the token");
  data(create);
  create->add_option("--user", o->user, "the account the token acts as")->required();
  create->add_option("--days", o->days, "days until it expires (0: never)")->capture_default_str();
  create->add_option("--label", o->label, "what the token is for");
  create->callback([o, &run] { run = [o] { return TokenCreate(*o); }; });

  auto* tlist = token->add_subcommand("list", "list tokens (never their values)");
  data(tlist);
  tlist->add_option("--user", o->user, "only this account's tokens");
  tlist->callback([o, &run] { run = [o] { return TokenList(*o); }; });

  auto* revoke = token->add_subcommand("revoke", "revoke a token");
  data(revoke);
  revoke->add_option("id", o->token_id, "token id (token list)")->required();
  revoke->callback([o, &run] { run = [o] { return TokenRevoke(*o); }; });
}

}  // namespace radflow::cli
