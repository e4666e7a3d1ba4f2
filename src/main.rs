//! The `previs` binary: parses the command line and turns every failure into one line.

use clap::Parser;

fn main() {
    let cli = previs::cli::Cli::parse();
    let code = match previs::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Every error of previs carries its own context; causes would only repeat it.
            eprintln!("error: {}", previs::sanitize::line(&e.to_string()));
            1
        }
    };
    std::process::exit(code);
}
