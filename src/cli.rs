//! The command line: `serve`, `migrate`, and administration of organizations, members, tokens.
//! Commands print only the value asked for on stdout, so scripts can capture it.

use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

use crate::app::{self, Database};
use crate::config::Config;
use crate::db;
use crate::domain::event::ChangeContext;
use crate::domain::member::{Email, Role};
use crate::domain::scope::{Scope, Scopes};
use crate::domain::slug::Slug;
use crate::domain::token::NewToken;

/// crm-api: a CRM records API compatible with Zeeg's v2 CRM API.
///
/// Configuration comes from environment variables (see README): DATABASE_URL, CRM_DATA_DIR,
/// CRM_BIND, CRM_CORS_ORIGINS, CRM_LOG_FORMAT, CRM_DB_POOL_SIZE, CRM_REQUEST_TIMEOUT_SECS, RUST_LOG.
#[derive(Debug, Parser)]
#[command(name = "crm-api", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API until Ctrl-C or SIGTERM.
    Serve {
        /// First create (or complete) the demo workspace `demo` and print a token and example requests.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage an organization's members.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the OpenAPI document (what /openapi.json serves) and exit.
    Openapi,
}

/// Organization commands.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization; prints its id.
    Create {
        /// 3–60 characters of a-z, 0-9, '_' and '-', starting with a letter.
        slug: String,
        /// Display name (defaults to the slug).
        #[arg(long)]
        name: Option<String>,
    },
}

/// Member commands.
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add a member; prints the member id.
    Add(MemberAdd),
    /// Deactivate a member: they stay listed but can no longer be linked.
    Deactivate {
        #[arg(long)]
        org: String,
        member_id: Uuid,
    },
}

/// Arguments of `member add`.
#[derive(Debug, Args)]
pub struct MemberAdd {
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub first_name: Option<String>,
    #[arg(long)]
    pub last_name: Option<String>,
    /// owner, admin or user.
    #[arg(long, default_value = "user")]
    pub role: Role,
}

/// Token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints it. It is shown only this once.
    Create {
        #[arg(long)]
        org: String,
        /// crm:read, crm:write, users:read, webhooks:read or webhooks:write; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<Scope>,
        /// A label to recognise it by in `token list`.
        #[arg(long)]
        name: Option<String>,
    },
    /// Revoke a token by its id (from `token list`).
    Revoke {
        #[arg(long)]
        org: String,
        token_id: Uuid,
    },
    /// List tokens (id, name, scopes, created, status); never secrets.
    List {
        #[arg(long)]
        org: String,
    },
}

type CliResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Runs a parsed command.
pub async fn run(cli: Cli, config: Config) -> CliResult {
    match cli.command {
        Command::Serve { demo } => return Ok(app::serve(&config, demo).await?),
        Command::Openapi => {
            println!("{}", crate::http::openapi_document().to_pretty_json()?);
            return Ok(());
        }
        _ => {}
    }
    let database = Database::open(&config).await?;
    let result = admin(cli.command, &database).await;
    database.close().await;
    result
}

async fn admin(command: Command, database: &Database) -> CliResult {
    let pool = &database.pool;
    match command {
        Command::Serve { .. } | Command::Migrate | Command::Openapi => {}
        Command::Org(OrgCommand::Create { slug, name }) => {
            let slug = Slug::parse(&slug).map_err(|e| format!("invalid slug '{slug}': {e}"))?;
            let name = name.unwrap_or_else(|| slug.to_string());
            let org = db::organizations::create(pool, &slug, &name, &ChangeContext::cli("org create")).await?;
            // Long polls in running servers learn of it now, not at their next local write.
            crate::feed::announce(pool, org.organization_id).await;
            println!("{}", org.organization_id);
        }
        Command::Member(MemberCommand::Add(add)) => {
            let org = organization(pool, &add.org).await?;
            let new = db::members::NewMember {
                email: Email::parse(&add.email)?,
                first_name: add.first_name,
                last_name: add.last_name,
                role: add.role,
            };
            println!("{}", db::members::add(pool, org, &new).await?.member_id);
        }
        Command::Member(MemberCommand::Deactivate { org, member_id }) => {
            let org = organization(pool, &org).await?;
            if !db::members::deactivate(pool, org, member_id).await? {
                return Err(format!("no member {member_id} in this organization").into());
            }
        }
        Command::Token(command) => token(command, pool).await?,
    }
    Ok(())
}

async fn token(command: TokenCommand, pool: &sqlx::PgPool) -> CliResult {
    match command {
        TokenCommand::Create { org, scopes, name } => {
            let org = organization(pool, &org).await?;
            let token = NewToken::generate();
            db::tokens::create(pool, org, &token, name.as_deref(), &Scopes::new(scopes)).await?;
            println!("{}", token.plaintext);
        }
        TokenCommand::Revoke { org, token_id } => {
            let org = organization(pool, &org).await?;
            if !db::tokens::revoke(pool, org, token_id).await? {
                return Err(format!("no active token {token_id} in this organization").into());
            }
        }
        TokenCommand::List { org } => {
            let org = organization(pool, &org).await?;
            for t in db::tokens::list(pool, org).await? {
                let status = if t.revoked_at.is_some() { "revoked" } else { "active" };
                let created = t.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                let name = t.name.as_deref().unwrap_or("-");
                println!("{}\t{name}\t{}\t{created}\t{status}", t.token_id, t.scopes.join(","));
            }
        }
    }
    Ok(())
}

async fn organization(pool: &sqlx::PgPool, slug: &str) -> Result<Uuid, String> {
    match db::organizations::find_by_slug(pool, slug).await {
        Ok(Some(org)) => Ok(org.organization_id),
        Ok(None) => Err(format!("no organization with slug '{slug}'")),
        Err(e) => Err(e.to_string()),
    }
}
