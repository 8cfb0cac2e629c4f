//! What the relay tells a live session from outside (registry signals).

use estafette_wire::{ErrorCode, ServerFrame};

use crate::registry::Control;
use crate::session::close::End;
use crate::session::connection::Connection;
use crate::session::delivery;
use crate::session::phase::Authed;

/// Acts on a signal to this authenticated session.
pub async fn on_control(
    conn: &Connection,
    authed: &mut Authed,
    control: Control,
) -> Result<(), End> {
    match control {
        Control::Wake => delivery::wake(conn, authed).await,
        Control::Replaced => Err(conn.out.fail(
            ErrorCode::Replaced,
            "Another connection of this device replaced this one.",
            None,
        )),
        Control::Revoked => {
            Err(conn
                .out
                .fail(ErrorCode::AccountRevoked, "The account was revoked.", None))
        }
        Control::PreKeysLow(stock) => conn.out.send(&ServerFrame::PreKeysLow {
            one_time_prekeys: stock.one_time,
            kem_one_time_prekeys: stock.kem_one_time,
        }),
    }
}
