//! diesel's view of the tables in `migrations/` (written by hand: the two engines'
//! migrations differ in spelling, not in shape). Only portable types are used:
//! `BigInt` ids and money, `Text`, `Bool`, `Double`, `Timestamp` (UTC).

diesel::table! {
    users (id) {
        id -> BigInt,
        phone -> Text,
        password_hash -> Text,
        display_name -> Text,
        role -> Text,
        real_name -> Nullable<Text>,
        identity_hash -> Nullable<Text>,
        identity_last4 -> Nullable<Text>,
        real_name_verified_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        family -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        spent_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    merchants (id) {
        id -> BigInt,
        name -> Text,
        license_no -> Text,
        category -> Text,
        district -> Text,
        address -> Text,
        contact_phone -> Text,
        status -> Text,
        review_note -> Nullable<Text>,
        owner_id -> BigInt,
        search_text -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    merchant_members (merchant_id, user_id) {
        merchant_id -> BigInt,
        user_id -> BigInt,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        actor_id -> BigInt,
        action -> Text,
        target_type -> Text,
        target_id -> BigInt,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    offers (id) {
        id -> BigInt,
        merchant_id -> BigInt,
        title -> Text,
        description -> Text,
        price_fen -> BigInt,
        stock -> Nullable<BigInt>,
        status -> Text,
        search_text -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    campaigns (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        status -> Text,
        budget_fen -> BigInt,
        reserved_fen -> BigInt,
        target_leverage -> Double,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        eligible_categories -> Text,
        eligible_districts -> Text,
        require_real_name -> Bool,
        refund_returns_voucher -> Bool,
        created_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    voucher_batches (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        name -> Text,
        discount_fen -> BigInt,
        min_spend_fen -> BigInt,
        quantity -> BigInt,
        remaining -> BigInt,
        per_user_limit -> BigInt,
        claim_starts_at -> Timestamp,
        claim_ends_at -> Timestamp,
        valid_days -> BigInt,
        created_at -> Timestamp,
        allocation -> Text,
        daily_quantity -> Nullable<BigInt>,
        usable_weekdays -> Text,
        usable_from -> Nullable<Text>,
        usable_to -> Nullable<Text>,
        entries -> BigInt,
        draw_seed -> Nullable<Text>,
        commitment -> Nullable<Text>,
        draw_started_at -> Nullable<Timestamp>,
        drawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    vouchers (id) {
        id -> BigInt,
        code -> Text,
        batch_id -> BigInt,
        campaign_id -> BigInt,
        user_id -> BigInt,
        slot -> BigInt,
        discount_fen -> BigInt,
        min_spend_fen -> BigInt,
        status -> Text,
        claimed_at -> Timestamp,
        expires_at -> Timestamp,
        order_id -> Nullable<BigInt>,
        usable_weekdays -> Text,
        usable_from -> Nullable<Text>,
        usable_to -> Nullable<Text>,
    }
}

diesel::table! {
    batch_day_claims (batch_id, day) {
        batch_id -> BigInt,
        day -> Text,
        claimed -> BigInt,
    }
}

diesel::table! {
    batch_stock_shards (batch_id, shard) {
        batch_id -> BigInt,
        shard -> BigInt,
        remaining -> BigInt,
    }
}

diesel::table! {
    batch_entries (id) {
        id -> BigInt,
        batch_id -> BigInt,
        user_id -> BigInt,
        entry_no -> BigInt,
        entered_at -> Timestamp,
        status -> Text,
        voucher_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    orders (id) {
        id -> BigInt,
        user_id -> BigInt,
        merchant_id -> BigInt,
        offer_id -> BigInt,
        quantity -> BigInt,
        voucher_id -> Nullable<BigInt>,
        campaign_id -> Nullable<BigInt>,
        gross_fen -> BigInt,
        subsidy_fen -> BigInt,
        payable_fen -> BigInt,
        status -> Text,
        redemption_code -> Nullable<Text>,
        created_at -> Timestamp,
        payment_due_at -> Timestamp,
        paid_at -> Nullable<Timestamp>,
        redeemed_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        refunded_at -> Nullable<Timestamp>,
        money_in_flight_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    payments (id) {
        id -> BigInt,
        order_id -> BigInt,
        provider -> Text,
        reference -> Text,
        amount_fen -> BigInt,
        kind -> Text,
        status -> Text,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        method -> Text,
        path -> Text,
        idem_key -> Text,
        request_hash -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    merchant_day_stats (campaign_id, merchant_id, day) {
        campaign_id -> BigInt,
        merchant_id -> BigInt,
        day -> Text,
        orders -> BigInt,
        consumption_fen -> BigInt,
        subsidy_fen -> BigInt,
        resident_paid_fen -> BigInt,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        merchant_id -> BigInt,
        url -> Text,
        secret -> Text,
        created_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        leased_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> BigInt,
        public_id -> Text,
        merchant_id -> BigInt,
        event_type -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        event_id -> BigInt,
        webhook_id -> BigInt,
        status -> Text,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        webhook_id -> BigInt,
        event_id -> BigInt,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
    }
}

diesel::table! {
    staff_invitations (id) {
        id -> BigInt,
        merchant_id -> BigInt,
        phone -> Text,
        invited_by -> BigInt,
        status -> Text,
        expires_at -> Timestamp,
        answered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    statements (id) {
        id -> BigInt,
        merchant_id -> BigInt,
        name -> Text,
        day -> Text,
        status -> Text,
        orders -> BigInt,
        subsidy_fen -> BigInt,
        clawback_fen -> BigInt,
        net_fen -> BigInt,
        carried_in_fen -> BigInt,
        payout_fen -> BigInt,
        digest -> Text,
        hold_reason -> Nullable<Text>,
        payout_reference -> Nullable<Text>,
        closed_at -> Timestamp,
        approved_at -> Nullable<Timestamp>,
        paid_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    statement_lines (id) {
        id -> BigInt,
        statement_id -> Nullable<BigInt>,
        merchant_id -> BigInt,
        order_id -> BigInt,
        kind -> Text,
        amount_fen -> BigInt,
        redeemed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    statement_days (day) {
        day -> Text,
        statements -> BigInt,
        closed_at -> Timestamp,
    }
}

diesel::table! {
    risk_flags (merchant_id) {
        merchant_id -> BigInt,
        score -> Double,
        signals -> Text,
        computed_at -> Timestamp,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(staff_invitations -> merchants (merchant_id));
diesel::joinable!(merchant_members -> merchants (merchant_id));
diesel::joinable!(merchant_members -> users (user_id));
diesel::joinable!(offers -> merchants (merchant_id));
diesel::joinable!(voucher_batches -> campaigns (campaign_id));
diesel::joinable!(vouchers -> voucher_batches (batch_id));
diesel::joinable!(batch_entries -> voucher_batches (batch_id));
diesel::joinable!(batch_day_claims -> voucher_batches (batch_id));
diesel::joinable!(batch_stock_shards -> voucher_batches (batch_id));
diesel::joinable!(vouchers -> campaigns (campaign_id));
diesel::joinable!(orders -> merchants (merchant_id));
diesel::joinable!(orders -> offers (offer_id));
diesel::joinable!(payments -> orders (order_id));
diesel::joinable!(merchant_day_stats -> merchants (merchant_id));
diesel::joinable!(webhooks -> merchants (merchant_id));
diesel::joinable!(webhook_deliveries -> webhook_events (event_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_attempts -> webhook_events (event_id));

diesel::joinable!(statements -> merchants (merchant_id));
diesel::joinable!(statement_lines -> orders (order_id));
diesel::joinable!(risk_flags -> merchants (merchant_id));

diesel::allow_tables_to_appear_in_same_query!(
    batch_entries,
    batch_day_claims,
    batch_stock_shards,
    statements,
    statement_lines,
    statement_days,
    risk_flags,
    users,
    refresh_tokens,
    merchants,
    merchant_members,
    audit_log,
    offers,
    campaigns,
    voucher_batches,
    vouchers,
    orders,
    payments,
    idempotency_keys,
    merchant_day_stats,
    webhooks,
    webhook_events,
    webhook_deliveries,
    webhook_attempts,
    staff_invitations,
    settings,
);
