use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Name of the job.
    #[arg(long, default_value = "cli")]
    name: String,
    #[arg(long)]
    check: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let job = shared::new_job(&args.name);
    if args.check {
        println!("cli ok");
    } else {
        println!("{}", serde_json::to_string_pretty(&job)?);
    }
    Ok(())
}
