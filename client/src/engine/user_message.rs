//! What the user reads when something fails, in both interface languages.

use estafette_wire::ErrorCode;

use crate::UserMessage;
use crate::group::GroupError;
use crate::messenger::MessengerError;
use crate::store::StoreError;

const fn both(fr: &'static str, en: &'static str) -> UserMessage {
    UserMessage { fr, en }
}

/// Why the engine stopped for good.
pub(super) fn for_stop(code: ErrorCode) -> UserMessage {
    match code {
        ErrorCode::AccountRevoked => both(
            "Ce compte a été désactivé par un administrateur. Vos messages ne peuvent plus être envoyés ni reçus.",
            "This account was disabled by an administrator. Messages can no longer be sent or received.",
        ),
        ErrorCode::UnknownDevice => both(
            "Le serveur ne reconnaît plus cet appareil. Demandez une nouvelle invitation à votre administrateur.",
            "The server no longer knows this device. Ask your administrator for a new invitation.",
        ),
        ErrorCode::Replaced => both(
            "Estafette a été ouvert dans un autre onglet ou une autre fenêtre. Fermez-le, puis rechargez cette page.",
            "Estafette was opened in another tab or window. Close it, then reload this page.",
        ),
        ErrorCode::UnsupportedVersion => both(
            "Cette version d’Estafette n’est plus acceptée par le serveur. Rechargez la page.",
            "The server no longer accepts this version of Estafette. Reload the page.",
        ),
        _ => both(
            "Le serveur a refusé cet appareil. Rechargez la page ; si cela persiste, contactez votre administrateur.",
            "The server refused this device. Reload the page; if this goes on, contact your administrator.",
        ),
    }
}

/// A failed command or a local failure.
pub(super) fn for_error(error: &MessengerError) -> UserMessage {
    match error {
        MessengerError::Offline | MessengerError::Link(_) => both(
            "Pas de connexion au serveur pour le moment. Réessayez quand la connexion sera revenue.",
            "No connection to the server right now. Try again when the connection is back.",
        ),
        MessengerError::NotFound(_) | MessengerError::Refused(ErrorCode::NotFound) => both(
            "Aucun compte ne porte cette adresse.",
            "No account has this address.",
        ),
        MessengerError::IdentityChanged(_) => both(
            "La clé de sécurité de ce contact a changé. Vérifiez-la et acceptez-la avant d’envoyer un message.",
            "This contact’s security key changed. Check and accept it before sending a message.",
        ),
        MessengerError::TooLong => both(
            "Ce message est trop long (16 Ko au plus). Découpez-le en plusieurs messages.",
            "This message is too long (16 KB at most). Split it into several messages.",
        ),
        MessengerError::Refused(ErrorCode::RateLimited) => both(
            "Trop de demandes en peu de temps. Patientez quelques secondes, puis réessayez.",
            "Too many requests in a short time. Wait a few seconds, then try again.",
        ),
        MessengerError::Store(StoreError::Locked) => both(
            "La session est verrouillée. Déverrouillez-la pour continuer.",
            "The session is locked. Unlock it to continue.",
        ),
        MessengerError::Store(_) => both(
            "Le stockage du navigateur a échoué. Vos messages déjà enregistrés sont conservés ; rechargez la page.",
            "The browser storage failed. Messages already saved are kept; reload the page.",
        ),
        MessengerError::Group(error) => for_group(error),
        MessengerError::Refused(_) | MessengerError::Protocol | MessengerError::Crypto(_) => both(
            "Le serveur a refusé l’opération. Réessayez ; si cela persiste, contactez votre administrateur.",
            "The server refused the operation. Try again; if this goes on, contact your administrator.",
        ),
    }
}

/// A group change or message refused here.
fn for_group(error: &GroupError) -> UserMessage {
    match error {
        GroupError::NotAdmin(_) => both(
            "Seuls les administrateurs du groupe peuvent faire cette modification.",
            "Only the group's admins can make this change.",
        ),
        GroupError::NotMember(_) => both(
            "Vous ne faites plus partie de ce groupe, ou cette personne n’en fait pas partie.",
            "You are no longer in this group, or this person is not in it.",
        ),
        GroupError::AlreadyMember(_) => both(
            "Cette personne fait déjà partie du groupe.",
            "This person is already in the group.",
        ),
        GroupError::TooManyMembers => both(
            "Un groupe compte au plus 1 000 membres.",
            "A group has at most 1,000 members.",
        ),
        GroupError::BadName => both(
            "Le nom du groupe doit compter de 1 à 128 octets, sans retour à la ligne.",
            "The group name must have 1 to 128 bytes, without line breaks.",
        ),
        GroupError::NoChange => both(
            "Cette modification ne change rien au groupe.",
            "This change changes nothing in the group.",
        ),
        GroupError::UnknownGroup => both(
            "Ce groupe n’existe pas sur cet appareil.",
            "This group does not exist on this device.",
        ),
        GroupError::Invalid(_)
        | GroupError::Stale
        | GroupError::BadSignature
        | GroupError::TooManyChanges => both(
            "Le groupe a changé entre-temps. Réessayez.",
            "The group changed in the meantime. Try again.",
        ),
    }
}
