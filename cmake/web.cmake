# The reading worklist web application (web/: TypeScript + React, built by Vite into
# web/dist), served by `radflow serve` at / (--app-dir, default the source tree's web/dist);
# its second entry web/login.html (dist/login.html) is the public sign-in page at /login, /setup.
# scripts/setup_web.sh (make setup) installs web/node_modules from web/package-lock.json.
#
#   target radflow_web (ALL): `npm run build` (tsc type check + vite build) when a file
#                             under web/src, package.json, the lock file, index.html or the
#                             Vite/TypeScript configuration changed
#   test web.unit:            Vitest (jsdom) in web/
#   test browser.worklist:    tests/browser/worklist.test.mjs, the app in Debian's Chromium
#   test browser.report:      tests/browser/report.test.mjs, the report editor (issue 13)
#   test browser.admin:       tests/browser/admin.test.mjs, the Apps, AI performance and
#                             Follow-ups pages against radflow
#   test browser.login:       tests/browser/login.test.mjs, sign-in, the session cookie,
#                             sign-out and the first-run set-up link (issue 18)
#   test browser.security_admin: tests/browser/security_admin.test.mjs, the Users and Audit pages
#   test browser.research:    tests/browser/research.test.mjs, cohort counts, export, download
#   test browser.deid_viewer: tests/browser/deid_viewer.test.mjs, OHIF on a `radflow deid` study
#   test browser.microscopy:  tests/browser/microscopy.test.mjs, OHIF's microscopy mode on slides
#                             (OrthancWSIDicomizer's and `radflow wsi import`'s CMU-1, highdicom,
#                             openslide-python), pan and zoom across the levels (issue 17)
#   test browser.ophthalmic:  tests/browser/ophthalmic.test.mjs, OHIF on `radflow op import`
#                             photographs (OP 8 and 16 bit) and the study page's conformance panel
#   test browser.exams:       tests/browser/exams.test.mjs, the technologist's Exams page (issue 14)
#   test browser.scheduling:  tests/browser/scheduling.test.mjs, the manager's Scheduling page (issue 14)
if(RADFLOW_FUZZ)
  return()  # the clang-only libFuzzer tree builds nothing else
endif()

set(RADFLOW_WEB_SOURCE_DIR ${CMAKE_SOURCE_DIR}/web)
find_program(RADFLOW_NPM npm)
find_program(RADFLOW_NPX npx)
find_program(RADFLOW_NODE node)
if(NOT RADFLOW_NPM OR NOT RADFLOW_NPX OR NOT RADFLOW_NODE)
  message(WARNING "node/npm not found: the web app (web/) is not built. Run `make setup`.")
  return()
endif()

file(GLOB_RECURSE RADFLOW_WEB_SOURCES CONFIGURE_DEPENDS ${RADFLOW_WEB_SOURCE_DIR}/src/*)
set(RADFLOW_WEB_INDEX ${RADFLOW_WEB_SOURCE_DIR}/dist/index.html)
add_custom_command(
  OUTPUT ${RADFLOW_WEB_INDEX}
  COMMAND sh -c "[ -x node_modules/.bin/vite ] && [ -x node_modules/.bin/tsc ] || { echo 'web/node_modules is missing or incomplete: run make setup (scripts/setup_web.sh)' >&2; exit 1; }"
  COMMAND ${RADFLOW_NPM} run --silent build
  # vite rewrites dist/ on every build; touch anyway so that the output is never older.
  COMMAND ${CMAKE_COMMAND} -E touch ${RADFLOW_WEB_INDEX}
  WORKING_DIRECTORY ${RADFLOW_WEB_SOURCE_DIR}
  DEPENDS ${RADFLOW_WEB_SOURCES}
          ${RADFLOW_WEB_SOURCE_DIR}/package.json
          ${RADFLOW_WEB_SOURCE_DIR}/package-lock.json
          ${RADFLOW_WEB_SOURCE_DIR}/index.html
          ${RADFLOW_WEB_SOURCE_DIR}/login.html
          ${RADFLOW_WEB_SOURCE_DIR}/vite.config.ts
          ${RADFLOW_WEB_SOURCE_DIR}/tsconfig.json
  COMMENT "Building the web app (web/dist)"
  VERBATIM)
add_custom_target(radflow_web ALL DEPENDS ${RADFLOW_WEB_INDEX})

if(RADFLOW_TESTS)
  set(RADFLOW_SHARED_DATA "${CMAKE_SOURCE_DIR}/../shared/data" CACHE PATH "shared test data")
  add_test(NAME web.unit COMMAND ${RADFLOW_NPX} --no-install vitest run
    WORKING_DIRECTORY ${RADFLOW_WEB_SOURCE_DIR})
  set_tests_properties(web.unit PROPERTIES LABELS web TIMEOUT 300 ENVIRONMENT "CI=1;NO_COLOR=1")

  add_test(NAME browser.worklist COMMAND ${RADFLOW_NODE} ${CMAKE_SOURCE_DIR}/tests/browser/worklist.test.mjs)
  set_tests_properties(browser.worklist PROPERTIES LABELS browser TIMEOUT 300
    ENVIRONMENT "RADFLOW_BIN=${CMAKE_BINARY_DIR}/radflow;RADFLOW_DATA=${RADFLOW_SHARED_DATA};TCP_NODELAY=1;RADFLOW_APP_DIR=${RADFLOW_WEB_SOURCE_DIR}/dist;RADFLOW_ARTIFACTS=${CMAKE_BINARY_DIR}/test-artifacts/web")

  # The report editor of the reading view (tests/browser/report.test.mjs): real AI findings,
  # decisions, autosave across a reload, QA, signing with HL7 delivery.
  add_test(NAME browser.report COMMAND ${RADFLOW_NODE} ${CMAKE_SOURCE_DIR}/tests/browser/report.test.mjs)
  set_tests_properties(browser.report PROPERTIES LABELS browser TIMEOUT 330
    ENVIRONMENT "RADFLOW_BIN=${CMAKE_BINARY_DIR}/radflow;RADFLOW_DATA=${RADFLOW_SHARED_DATA};TCP_NODELAY=1;RADFLOW_APP_DIR=${RADFLOW_WEB_SOURCE_DIR}/dist;RADFLOW_ARTIFACTS=${CMAKE_BINARY_DIR}/test-artifacts/web")

  add_test(NAME browser.admin COMMAND ${RADFLOW_NODE} ${CMAKE_SOURCE_DIR}/tests/browser/admin.test.mjs)
  set_tests_properties(browser.admin PROPERTIES LABELS browser TIMEOUT 300
    ENVIRONMENT "RADFLOW_BIN=${CMAKE_BINARY_DIR}/radflow;RADFLOW_DATA=${RADFLOW_SHARED_DATA};TCP_NODELAY=1;RADFLOW_APP_DIR=${RADFLOW_WEB_SOURCE_DIR}/dist;RADFLOW_ARTIFACTS=${CMAKE_BINARY_DIR}/test-artifacts/web")

  # Issue 18: sign-in, the administrator's security pages, the research hub, and OHIF on a
  # de-identified study. Issue 17: OHIF's microscopy mode, and OHIF on OP photographs.
  # microscopy: node's own limit is 420 s (4 slides x 75 s each plus 120 s, TEST_MS in the
  # test), so a slow run fails naming the slide and step before ctest's 480 s kill.
  foreach(name_timeout IN ITEMS login:240 security_admin:240 research:360 deid_viewer:300 microscopy:480 ophthalmic:240)
    string(REPLACE ":" ";" nt ${name_timeout})
    list(GET nt 0 name)
    list(GET nt 1 timeout)
    add_test(NAME browser.${name} COMMAND ${RADFLOW_NODE} ${CMAKE_SOURCE_DIR}/tests/browser/${name}.test.mjs)
    set_tests_properties(browser.${name} PROPERTIES LABELS browser TIMEOUT ${timeout}
      ENVIRONMENT "RADFLOW_BIN=${CMAKE_BINARY_DIR}/radflow;RADFLOW_DATA=${RADFLOW_SHARED_DATA};TCP_NODELAY=1;RADFLOW_APP_DIR=${RADFLOW_WEB_SOURCE_DIR}/dist;RADFLOW_ARTIFACTS=${CMAKE_BINARY_DIR}/test-artifacts/web")
  endforeach()

  # Issue 14 (G): the technologist's Exams page — orders of a day by REST, protocol accept /
  # change, arrived / no-show, studies arriving with and without an order (reconciliation).
  add_test(NAME browser.exams COMMAND ${RADFLOW_NODE} ${CMAKE_SOURCE_DIR}/tests/browser/exams.test.mjs)
  set_tests_properties(browser.exams PROPERTIES LABELS browser TIMEOUT 300
    ENVIRONMENT "RADFLOW_BIN=${CMAKE_BINARY_DIR}/radflow;RADFLOW_DATA=${RADFLOW_SHARED_DATA};TCP_NODELAY=1;RADFLOW_APP_DIR=${RADFLOW_WEB_SOURCE_DIR}/dist;RADFLOW_ARTIFACTS=${CMAKE_BINARY_DIR}/test-artifacts/web")

  # Issue 14 (E): the Scheduling page — a week of three scanners booked by REST, outcomes by
  # HL7 and the exam desk, a real no-show model (`radflow noshow train`), the charts.
  add_test(NAME browser.scheduling COMMAND ${RADFLOW_NODE} ${CMAKE_SOURCE_DIR}/tests/browser/scheduling.test.mjs)
  set_tests_properties(browser.scheduling PROPERTIES LABELS browser TIMEOUT 330
    ENVIRONMENT "RADFLOW_BIN=${CMAKE_BINARY_DIR}/radflow;RADFLOW_DATA=${RADFLOW_SHARED_DATA};TCP_NODELAY=1;RADFLOW_APP_DIR=${RADFLOW_WEB_SOURCE_DIR}/dist;RADFLOW_ARTIFACTS=${CMAKE_BINARY_DIR}/test-artifacts/web")
endif()
