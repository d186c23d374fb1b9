//! `ucplus`: the multi-tenant UC server and its tools. See `ucplus --help`.

fn main() -> std::process::ExitCode {
    ucplus_server::cli::main()
}
