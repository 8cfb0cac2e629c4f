//! An authenticated device's requests: directory (lookup, search), bundle
//! fetches, prekey uploads, pings; sends and acks go to their own modules.

use estafette_wire::limits::{MAX_QUERY_BYTES, MAX_SEARCH_RESULTS};
use estafette_wire::{Bundle, ClientFrame, DeviceId, ErrorCode, PreKeyUpload, ServerFrame};

use crate::auth;
use crate::registry::Control;
use crate::session::close::End;
use crate::session::connection::Connection;
use crate::session::delivery;
use crate::session::phase::Authed;
use crate::session::sending;
use crate::store::PreKeyStock;

/// Answers one frame of an authenticated device.
pub async fn answer(conn: &Connection, authed: &mut Authed, frame: ClientFrame) -> Result<(), End> {
    let out = &conn.out;
    match frame {
        ClientFrame::UploadPreKeys { request, prekeys } => {
            upload(conn, authed, request, *prekeys).await
        }
        ClientFrame::Lookup { request, handle } => lookup(conn, request, handle).await,
        ClientFrame::Search { request, query } => search(conn, request, query).await,
        ClientFrame::FetchBundles { request, handle } => fetch_bundles(conn, request, handle).await,
        // The session pipelines sends; one that comes here is stored at once.
        ClientFrame::Send(send) => {
            let stored = sending::start_send(conn, authed, send)?.await;
            sending::on_stored(conn, stored)
        }
        ClientFrame::GroupSend(send) => {
            let stored = sending::start_group_send(conn, authed, send)?.await;
            sending::on_stored(conn, stored)
        }
        ClientFrame::Ack(seq) => delivery::ack(conn, authed, seq).await,
        ClientFrame::Ping(value) => out.send(&ServerFrame::Pong(value)),
        ClientFrame::Hello(_) | ClientFrame::Register(_) | ClientFrame::Authenticate(_) => Err(out
            .fail(
                ErrorCode::UnexpectedFrame,
                "That frame is not expected now.",
                None,
            )),
    }
}

async fn lookup(conn: &Connection, request: u32, handle: String) -> Result<(), End> {
    let out = &conn.out;
    match conn.shared.store.account(handle).await {
        Err(error) => Err(out.internal(&error, Some(request))),
        Ok(None) => {
            out.error(ErrorCode::NotFound, "No such account.", Some(request));
            Ok(())
        }
        Ok(Some(account)) => out.send(&ServerFrame::Account { request, account }),
    }
}

async fn search(conn: &Connection, request: u32, query: String) -> Result<(), End> {
    let out = &conn.out;
    if !conn.limits.search(out, request) {
        return Ok(());
    }
    let query = query.trim().to_owned();
    if query.chars().count() < 2 || query.len() > MAX_QUERY_BYTES {
        return out.send(&ServerFrame::SearchResults {
            request,
            accounts: Vec::new(),
        });
    }
    match conn
        .shared
        .store
        .search(query, MAX_SEARCH_RESULTS as u32)
        .await
    {
        Err(error) => Err(out.internal(&error, Some(request))),
        Ok(accounts) => out.send(&ServerFrame::SearchResults { request, accounts }),
    }
}

async fn fetch_bundles(conn: &Connection, request: u32, handle: String) -> Result<(), End> {
    let out = &conn.out;
    if !conn.limits.bundle_fetch(out, request) {
        return Ok(());
    }
    match conn.shared.store.take_bundles(handle).await {
        Err(error) => Err(out.internal(&error, Some(request))),
        Ok(None) => {
            out.error(ErrorCode::NotFound, "No such account.", Some(request));
            Ok(())
        }
        Ok(Some((account, bundles))) => {
            for (bundle, stock) in &bundles {
                tell_owner_if_low(conn, bundle, *stock);
            }
            let bundles = bundles.into_iter().map(|(bundle, _)| bundle).collect();
            out.send(&ServerFrame::Bundles {
                request,
                account,
                bundles,
            })
        }
    }
}

/// A fetch took one-time keys: their owner is told when few are left.
fn tell_owner_if_low(conn: &Connection, bundle: &Bundle, stock: PreKeyStock) {
    let low = conn.shared.config.low_prekeys;
    // A certificate holds the device id after the 32-byte account key.
    let owner = bundle
        .certificate
        .get(32..48)
        .and_then(|b| <[u8; 16]>::try_from(b).ok());
    if let Some(owner) = owner
        && (stock.one_time < low || stock.kem_one_time < low)
    {
        conn.shared
            .registry
            .notify(DeviceId(owner), Control::PreKeysLow(stock));
    }
}

async fn upload(
    conn: &Connection,
    authed: &Authed,
    request: u32,
    prekeys: PreKeyUpload,
) -> Result<(), End> {
    let out = &conn.out;
    if auth::verify_prekeys(&authed.certificate, &prekeys).is_err() {
        out.error(
            ErrorCode::InvalidPreKeys,
            "A prekey is invalid.",
            Some(request),
        );
        return Ok(());
    }
    match conn
        .shared
        .store
        .upload_prekeys(authed.device, prekeys)
        .await
    {
        Err(error) => Err(out.internal(&error, Some(request))),
        Ok(None) => {
            out.error(
                ErrorCode::TooManyPreKeys,
                "The relay holds the maximum of prekeys for this device.",
                Some(request),
            );
            Ok(())
        }
        Ok(Some(stock)) => out.send(&ServerFrame::PreKeysStored {
            request,
            one_time_prekeys: stock.one_time,
            kem_one_time_prekeys: stock.kem_one_time,
        }),
    }
}
