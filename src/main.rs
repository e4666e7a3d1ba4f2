//! The `previs` binary: parses the command line and turns every failure into one line.

use clap::Parser;

fn main() {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cli = previs::cli::Cli::parse();
    let code = match previs::cli::run(cli, args) {
        Ok(code) => code,
        Err(e) => {
            // Every error of previs carries its own context; causes would only repeat it.
            eprintln!("error: {}", previs::sanitize::line(&e.to_string()));
            1
        }
    };
    std::process::exit(code);
}
