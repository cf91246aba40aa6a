/**
 * The synthetic user space's code paths: the functions laid out first in
 * its text, which shared library a function lives in, and call chains by
 * process kind (web server, database, browser, JVM, Node, Python, shell,
 * daemon, command-line tool), innermost first.
 *
 * @module
 */

/** Where the synthetic machine's C library lives. */
export const LIBC_PATH = "/usr/lib/x86_64-linux-gnu/libc.so.6";

/** User functions laid out first (in this order). */
export const USER_FUNCTIONS = [
  "_start",
  "__libc_start_main_impl",
  "__libc_start_call_main",
  "main",
  "start_thread",
  "clone3",
  "__libc_read",
  "__libc_write",
  "__libc_open64",
  "__libc_recv",
  "__libc_send",
  "__libc_pread64",
  "__poll",
  "epoll_wait",
  "epoll_pwait",
  "__futex_abstimed_wait_common",
  "__pthread_cond_timedwait",
  "malloc",
  "free",
  "memcpy",
];

/**
 * User functions of the C library: those laid out first, but the
 * program's own `_start` and `main`, and a few more.
 */
const LIBC_FUNCTIONS = new Set([
  ...USER_FUNCTIONS.filter((f) => f !== "_start" && f !== "main"),
  "read",
  "write",
  "open",
  "close",
  "strlen",
]);

/** Shared libraries by function name. */
const LIBRARIES: [RegExp, string][] = [
  [/^g_/, "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0.7400.6"],
  [/^(SSL_|ssl3_)/, "/usr/lib/x86_64-linux-gnu/libssl.so.3"],
  [/^curl_/, "/usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0"],
  [/^sd_event_/, "/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so"],
];

const LIBC_MAIN = [
  "main",
  "__libc_start_call_main",
  "__libc_start_main_impl",
  "_start",
];
const THREAD = ["start_thread", "clone3"];

/** User call chains by process kind, innermost first. */
export const USER_CHAINS: Readonly<Record<string, readonly string[][]>> = {
  kernel: [],
  web: [
    [
      "epoll_wait",
      "ngx_epoll_process_events",
      "ngx_process_events_and_timers",
      "ngx_worker_process_cycle",
      "ngx_spawn_process",
      "ngx_start_worker_processes",
      "ngx_master_process_cycle",
      ...LIBC_MAIN,
    ],
    [
      "__libc_write",
      "ngx_linux_sendfile_chain",
      "ngx_http_write_filter",
      "ngx_http_output_filter",
      "ngx_http_static_handler",
      "ngx_http_core_content_phase",
      "ngx_http_core_run_phases",
      "ngx_http_process_request",
      "ngx_epoll_process_events",
      "ngx_process_events_and_timers",
      "ngx_worker_process_cycle",
      ...LIBC_MAIN,
    ],
  ],
  db: [
    [
      "__libc_pread64",
      "FileRead",
      "mdread",
      "ReadBuffer_common",
      "ReadBufferExtended",
      "heapgetpage",
      "heapgettup_pagemode",
      "SeqNext",
      "ExecScan",
      "ExecutePlan",
      "standard_ExecutorRun",
      "PortalRunSelect",
      "PortalRun",
      "exec_simple_query",
      "PostgresMain",
      "BackendRun",
      "ServerLoop",
      "PostmasterMain",
      ...LIBC_MAIN,
    ],
    [
      "__libc_recv",
      "secure_read",
      "pq_recvbuf",
      "pq_getbyte",
      "SocketBackend",
      "PostgresMain",
      "BackendRun",
      "ServerLoop",
      "PostmasterMain",
      ...LIBC_MAIN,
    ],
  ],
  jvm: [
    [
      "__futex_abstimed_wait_common",
      "__pthread_cond_timedwait",
      "os::PlatformEvent::park",
      "Monitor::wait",
      "VMThread::loop",
      "Thread::call_run",
      "thread_native_entry",
      ...THREAD,
    ],
    [
      "__libc_read",
      "readBytes",
      "Java_java_io_FileInputStream_readBytes",
      "Interpreter",
      "call_stub",
      "JavaCalls::call_helper",
      "jni_CallStaticVoidMethod",
      "JavaMain",
      "ThreadJavaMain",
      ...THREAD,
    ],
  ],
  node: [
    [
      "epoll_pwait",
      "uv__io_poll",
      "uv_run",
      "node::SpinEventLoop",
      "node::NodeMainInstance::Run",
      "node::Start",
      ...LIBC_MAIN,
    ],
    ["__libc_write", "uv__fs_write", "uv__fs_work", "worker", ...THREAD],
  ],
  python: [
    [
      "__libc_read",
      "_Py_read",
      "_io_FileIO_read",
      "method_vectorcall_VARARGS",
      "_PyEval_EvalFrameDefault",
      "PyEval_EvalCode",
      "run_mod",
      "_PyRun_SimpleFileObject",
      "Py_RunMain",
      "Py_BytesMain",
      ...LIBC_MAIN,
    ],
    [
      "__poll",
      "select_poll_poll",
      "_PyEval_EvalFrameDefault",
      "_PyFunction_Vectorcall",
      "PyObject_Call",
      "thread_run",
      "pythread_wrapper",
      ...THREAD,
    ],
  ],
  browser: [
    [
      "__poll",
      "g_main_context_iterate",
      "g_main_context_iteration",
      "base::MessagePumpGlib::Run",
      "base::RunLoop::Run",
      "content::BrowserMainLoop::RunMainMessageLoop",
      "content::BrowserMain",
      "content::ContentMainRunnerImpl::Run",
      "content::ContentMain",
      "ChromeMain",
      ...LIBC_MAIN,
    ],
    [
      "__libc_send",
      "mojo::core::ChannelPosix::WriteNoLock",
      "mojo::core::NodeChannel::SendChannelMessage",
      "base::TaskAnnotator::RunTaskImpl",
      "base::internal::WorkerThread::RunWorker",
      "base::PlatformThread::ThreadFunc",
      ...THREAD,
    ],
  ],
  shell: [
    [
      "__libc_read",
      "rl_getc",
      "rl_read_key",
      "readline_internal_char",
      "readline",
      "yy_readline_get",
      "shell_getc",
      "read_command",
      "reader_loop",
      ...LIBC_MAIN,
    ],
  ],
  daemon: [
    [
      "epoll_wait",
      "sd_event_wait",
      "sd_event_run",
      "manager_loop",
      ...LIBC_MAIN,
    ],
    [
      "__libc_write",
      "write_to_journal",
      "server_dispatch_message",
      "stdout_stream_process",
      "sd_event_run",
      ...LIBC_MAIN,
    ],
    [
      "epoll_pwait",
      "runtime.epollwait",
      "runtime.netpoll",
      "runtime.findRunnable",
      "runtime.schedule",
      "runtime.park_m",
      "runtime.mcall",
    ],
  ],
  tool: [
    [
      "__libc_read",
      "ssl3_read_bytes",
      "SSL_read",
      "curl_easy_perform",
      "operate",
      ...LIBC_MAIN,
    ],
    ["__libc_open64", "open_file", "cc1_main", "toplev::main", ...LIBC_MAIN],
  ],
};

/**
 * The shared library holding user function `name`: the C library's path
 * for its functions, a few well-known libraries by name prefix, else
 * undefined (the program itself).
 *
 * @example Usage
 * ```ts
 * import { LIBC_PATH, libraryOf } from "./user_chains.ts";
 * console.assert(libraryOf("malloc") === LIBC_PATH);
 * console.assert(libraryOf("main") === undefined);
 * ```
 */
export function libraryOf(name: string): string | undefined {
  if (LIBC_FUNCTIONS.has(name)) return LIBC_PATH;
  for (const [re, path] of LIBRARIES) if (re.test(name)) return path;
  return undefined;
}

/**
 * A plausible chain of callers of user function `name`, innermost first:
 * the frames after it in a known call chain, else `main` and the C
 * library's start-up.
 *
 * @example Usage
 * ```ts
 * import { userCallers } from "./user_chains.ts";
 * console.assert(userCallers("parity_target")[0] === "main");
 * console.assert(userCallers("readline")[0] === "yy_readline_get");
 * ```
 */
export function userCallers(name: string): readonly string[] {
  for (const chains of Object.values(USER_CHAINS)) {
    for (const c of chains) {
      const i = c.indexOf(name);
      if (i >= 0) return c.slice(i + 1);
    }
  }
  const i = LIBC_MAIN.indexOf(name);
  return i >= 0 ? LIBC_MAIN.slice(i + 1) : LIBC_MAIN;
}
