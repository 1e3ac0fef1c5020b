//! `cargo xtask infra-check`: lints and validates infra/template.yaml, builds
//! every Lambda for arm64 as SAM would, and checks the template against the
//! code (tests/architecture/tests/infra_template.rs).
//! `cargo xtask deploy`: `sam build` and `sam deploy --guided` to AWS.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::process::{self, Step, cargo, print_summary, step};
use crate::tools;

pub const TEMPLATE: &str = "infra/template.yaml";

/// Environment variables through which the AWS CLI, SDKs and SAM find credentials.
const CREDENTIAL_VARIABLES: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
];

pub fn check(root: &Path) -> anyhow::Result<()> {
    tools::ensure(root, tools::Needs::INFRA)?;
    let mut steps = Vec::new();
    let result = run_checks(root, &mut steps);
    print_summary(&steps);
    result
}

/// Every infra-check step (carrying on past a failure so one run shows them
/// all); `cargo xtask test` runs this as one of its steps.
pub fn run_checks(root: &Path, steps: &mut Vec<Step>) -> anyhow::Result<()> {
    let bin = tools::python_bin(root);
    let _ = step(steps, "cfn-lint infra/template.yaml", || {
        process::run(Command::new(bin.join("cfn-lint")).arg(TEMPLATE).current_dir(root))
    });
    let _ = step(steps, "sam validate --lint (no credentials)", || {
        let mut sam = Command::new(bin.join("sam"));
        sam.args(["validate", "--lint", "--template-file", TEMPLATE]).current_dir(root);
        without_credentials(&mut sam, root);
        process::run(sam.env("AWS_DEFAULT_REGION", "us-east-1").env("SAM_CLI_TELEMETRY", "0"))
    });
    let packages = lambda_packages(root)?;
    let _ = step(steps, &format!("cargo lambda build --release --arm64 ({})", packages.join(", ")), || {
        if packages.is_empty() {
            bail!("no functions/lambda-*/Cargo.toml found");
        }
        // The default target dir (or CARGO_TARGET_DIR) keeps reruns incremental.
        let mut build = cargo(root);
        build.args(["lambda", "build", "--release", "--arm64"]);
        for package in &packages {
            build.args(["--package", package]);
        }
        process::run(build.env("PATH", tools::path_with(std::slice::from_ref(&bin))))
    });
    let _ = step(steps, "the template matches the code (functions, IAM actions, environment)", || {
        process::run(cargo(root).args(["test", "--locked", "--package", "doorstep-architecture-tests", "--test", "infra_template"]))
    });
    let failed: Vec<&str> = steps.iter().filter(|s| !s.ok).map(|s| s.name.as_str()).collect();
    if !failed.is_empty() {
        bail!("infra check failed: {}", failed.join("; "));
    }
    Ok(())
}

/// Package names of `functions/lambda-*`, read from their Cargo.toml.
pub fn lambda_packages(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut packages = Vec::new();
    for entry in std::fs::read_dir(root.join("functions")).context("functions/ is missing")? {
        let dir = entry?.path();
        let is_lambda = dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("lambda-"));
        let manifest = dir.join("Cargo.toml");
        if !is_lambda || !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)?;
        packages.push(package_name(&text).with_context(|| format!("no package name in {}", manifest.display()))?);
    }
    packages.sort();
    Ok(packages)
}

fn package_name(manifest: &str) -> Option<String> {
    let package = manifest.split("[package]").nth(1)?;
    let section = package.split("\n[").next()?;
    let line = section.lines().find(|l| l.trim_start().starts_with("name") && l.contains('='))?;
    Some(line.split_once('=')?.1.trim().trim_matches('"').to_owned())
}

/// SAM must validate offline: no profile, no keys, and credential files that do not exist.
fn without_credentials(cmd: &mut Command, root: &Path) {
    for variable in CREDENTIAL_VARIABLES {
        cmd.env_remove(variable);
    }
    let none = root.join("target/no-aws-credentials");
    cmd.env("AWS_SHARED_CREDENTIALS_FILE", &none).env("AWS_CONFIG_FILE", &none);
}

pub fn deploy(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if credentials_source(|name| std::env::var(name).ok(), home.as_deref()).is_none() {
        bail!(
            "no AWS credentials found, so nothing can be deployed.\n\
             Configure them first, for example:\n  \
             aws configure                      # access key, writes ~/.aws/credentials\n  \
             aws configure sso                  # or IAM Identity Center, then export AWS_PROFILE=<profile>\n\
             or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys).\n\
             See README.md, \"Deploying to AWS\"."
        );
    }
    tools::ensure(root, tools::Needs::INFRA)?;
    let bin = tools::python_bin(root);
    let build_dir = root.join("target/sam/build");
    let config = root.join("target/sam/samconfig.toml");
    std::fs::create_dir_all(root.join("target/sam"))?;
    // sam build runs `cargo lambda build` for each function: cargo-lambda and zig come from the venv.
    process::run(
        Command::new(bin.join("sam"))
            .args(["build", "--template-file", TEMPLATE, "--build-dir"])
            .arg(&build_dir)
            .args(["--cached", "--cache-dir"])
            .arg(root.join("target/sam/cache"))
            .current_dir(root)
            .env("PATH", tools::path_with(std::slice::from_ref(&bin)))
            .env("SAM_CLI_TELEMETRY", "0"),
    )?;
    let status = Command::new(bin.join("sam"))
        .args(["deploy", "--guided", "--template-file"])
        .arg(build_dir.join("template.yaml"))
        .arg("--config-file")
        .arg(&config)
        .args(args)
        .current_dir(root)
        .env("SAM_CLI_TELEMETRY", "0")
        .status()
        .context("cannot start sam deploy")?;
    if !status.success() {
        bail!("sam deploy failed ({status}); its output above says why. Your answers are kept in {}", config.display());
    }
    println!(
        "\nDeployed. Your answers are kept in {} for the next `cargo xtask deploy`.\n\
         Next: upload the web app (`cargo xtask build-web`, then `aws s3 sync target/site s3://<SiteBucketName> --delete`)\n\
         and create the first dispatcher, as README.md \"Deploying to AWS\" shows.",
        config.display()
    );
    Ok(())
}

/// Where credentials would come from, or `None` when there are none to find.
fn credentials_source(var: impl Fn(&str) -> Option<String>, home: Option<&Path>) -> Option<String> {
    let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    if let Some(name) = CREDENTIAL_VARIABLES.iter().find(|name| set(name).is_some()) {
        return Some(format!("${name}"));
    }
    let home = home?;
    [".aws/credentials", ".aws/config"].iter().map(|f| home.join(f)).find(|p| p.is_file()).map(|p| p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_variables_and_no_aws_files_means_no_credentials() {
        let home = tempdir();
        assert_eq!(credentials_source(|_| None, Some(&home)), None);
        assert_eq!(credentials_source(|_| Some("  ".into()), Some(&home)), None);
    }

    #[test]
    fn a_profile_variable_or_a_credentials_file_counts() {
        let home = tempdir();
        let profile = |name: &str| (name == "AWS_PROFILE").then(|| "prod".to_owned());
        assert_eq!(credentials_source(profile, Some(&home)).as_deref(), Some("$AWS_PROFILE"));
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        std::fs::write(home.join(".aws/credentials"), "[default]\n").unwrap();
        assert!(credentials_source(|_| None, Some(&home)).is_some_and(|s| s.ends_with(".aws/credentials")));
    }

    #[test]
    fn package_names_are_read_from_the_package_section() {
        let manifest = "[package]\nname = \"doorstep-lambda-orders\"\nversion.workspace = true\n\n[[bin]]\nname = \"other\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("doorstep-lambda-orders"));
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-infra-{}-{:?}", std::process::id(), std::thread::current().id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
