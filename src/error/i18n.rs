//! Problem details in the caller's language: `Accept-Language: zh` (any `zh-*`,
//! q-values honoured) gets Chinese `title`, `detail` and validation messages,
//! everyone else English; the `code` never changes.
//!
//! The English text stays where each error is built, so call sites read as they
//! did; this module owns the Chinese beside it: a title for every code (keyed by
//! the code's text, so codes added on other branches can carry theirs before they
//! merge) and the known English details and field messages, as templates whose
//! `{}` holes match whatever a `format!` put there. actix's `ResponseError` never
//! sees the request, so [`localize`] rewrites problem+json answers on the way out,
//! the framework's own 404/405/413/415 included. A detail with no Chinese stays in
//! English rather than vanish; `every_detail_in_the_source_has_chinese` keeps that
//! from happening to the texts in `src/`.

use actix_web::body::{self, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use serde_json::Value;

use super::{Code, PROBLEM_JSON};

/// Chinese title of each code, by its text. `internal_error` included.
const TITLES_ZH: &[(&str, &str)] = &[
    ("malformed_request", "请求格式错误"),
    ("validation_failed", "请求内容有误"),
    ("unauthorized", "未登录"),
    ("invalid_credentials", "手机号或密码错误"),
    ("forbidden", "无权操作"),
    ("real_name_required", "需要实名认证"),
    ("not_found", "未找到"),
    ("method_not_allowed", "不支持该请求方法"),
    ("payload_too_large", "请求内容过大"),
    ("unsupported_media_type", "不支持的内容类型"),
    ("phone_taken", "手机号已注册"),
    ("identity_taken", "身份证已被绑定"),
    ("license_taken", "营业执照已被使用"),
    ("merchant_not_approved", "商户未通过审核"),
    ("invalid_state", "当前状态不允许此操作"),
    ("budget_exceeded", "超出预算"),
    ("campaign_not_active", "活动未在进行中"),
    ("claim_not_started", "尚未开始领取"),
    ("claim_ended", "领取已结束"),
    ("sold_out", "已领完"),
    ("claim_limit_reached", "已达领取上限"),
    ("offer_unavailable", "商品已下架"),
    ("out_of_stock", "库存不足"),
    ("voucher_unavailable", "消费券不可用"),
    ("voucher_not_applicable", "消费券不适用于此订单"),
    ("already_redeemed", "订单已核销"),
    ("idempotency_key_reused", "幂等键已用于其他请求"),
    ("idempotency_key_in_use", "相同幂等键的请求正在处理"),
    ("rate_limited", "请求过于频繁"),
    ("service_unavailable", "服务暂不可用"),
    ("wrong_allocation", "不属于此次分配"),
    ("already_entered", "已参与抽签"),
    ("sold_out_today", "今日已领完"),
    ("voucher_not_usable_now", "消费券当前不可使用"),
    ("overloaded", "系统繁忙"),
    ("internal_error", "服务器内部错误"),
];

/// English detail or field message (`{}` = any text) → Chinese (`{0}`, `{1}`, …
/// name the holes in order, so a sentence may reorder them).
const TEXTS_ZH: &[(&str, &str)] = &[
    // The framework and the renderer.
    ("no such resource", "资源不存在"),
    ("method not allowed on this resource", "此资源不支持该请求方法"),
    ("internal error", "服务器内部错误"),
    ("the request has invalid fields", "请求中有字段不合法"),
    ("too many attempts, try again later", "尝试次数过多，请稍后再试"),
    ("Bad Request", "请求格式错误"),
    ("Payload Too Large", "请求内容过大"),
    ("Unsupported Media Type", "不支持的内容类型"),
    ("Unprocessable Entity", "请求内容有误"),
    ("Service Unavailable", "服务暂不可用"),
    // Bodies and queries.
    (
        "send the body as Content-Type: application/json",
        "请以 Content-Type: application/json 发送请求体",
    ),
    ("the body is larger than 1 MiB", "请求体超过 1 MiB"),
    // Statements and reversal.
    ("must be a date, YYYY-MM-DD", "必须是日期，格式 YYYY-MM-DD"),
    ("the statement is {}; it cannot be {}", "结算单状态为 {0}，不能执行 {1}"),
    (
        "the order is {}; only a redeemed order can be reversed",
        "订单状态为 {0}，只有已核销的订单可以冲正",
    ),
    // Accounts and sessions.
    ("the current password is wrong", "当前密码不正确"),
    (
        "the identity verification service is unavailable; try again",
        "实名核验服务暂不可用，请重试",
    ),
    ("an administrator cannot disable their own account", "管理员不能停用自己的账户"),
    ("the account is already disabled", "该账户已停用"),
    ("this account has no identity bound", "该账户未绑定身份"),
    (
        "contains a number out of range (integers are within ±(2^53 − 1))",
        "含有超出范围的数字（整数须在 ±(2^53 − 1) 以内）",
    ),
    // Claims.
    ("too many claims of this batch are waiting; retry shortly", "该批次排队领取的人过多，请稍后重试"),
    ("too many claims of this batch raced for its last vouchers; retry shortly", "该批次最后几张券争抢过多，请稍后重试"),
    ("the claim group failed", "本组领取未能完成"),
    ("too many entries of this batch are waiting; retry shortly", "该批次排队报名的人过多，请稍后重试"),
    // Paying and moving money.
    (
        "the merchant of this order is no longer approved: it cannot be paid (cancel it)",
        "该订单的商户已不在正常经营状态，无法支付（请取消订单）",
    ),
    (
        "the campaign of this order's voucher is no longer active: it cannot be paid now (cancel it, or pay when the campaign resumes)",
        "该订单所用消费券的活动已不在进行中，现在无法支付（请取消订单，或待活动恢复后支付）",
    ),
    (
        "the payment window of this order has closed: it is cancelled, its stock and voucher returned",
        "该订单的支付时限已过：订单已取消，库存和消费券已退回",
    ),
    (
        "a payment or refund of this order is in progress; try again shortly",
        "该订单有一笔支付或退款正在处理中，请稍后重试",
    ),
    (
        "you already hold {} unpaid orders (at most {}): pay or cancel one first",
        "您已有 {0} 笔未支付订单（最多 {1} 笔）：请先支付或取消其中一笔",
    ),

    ("the body is not valid JSON: {}", "请求体不是合法的 JSON：{0}"),
    ("the body could not be read: {}", "无法读取请求体：{0}"),
    ("cannot be decoded: {}", "无法解析：{0}"),
    ("is not a cursor this service gave out", "不是本服务给出的分页游标"),
    ("must be an integer from 1 to 100", "必须是 1 到 100 之间的整数"),
    // Field messages.
    ("must be a JSON object", "必须是 JSON 对象"),
    ("is required", "为必填项"),
    ("unknown field", "未知字段"),
    ("cannot be null", "不能为 null"),
    ("must be a string", "必须是字符串"),
    ("must not contain NUL characters", "不能包含 NUL 字符"),
    ("is out of range", "超出范围"),
    ("must be a whole number", "必须是整数"),
    ("must be an integer", "必须是整数"),
    ("must be between {} and {}", "必须在 {0} 到 {1} 之间"),
    ("must be true or false", "必须是 true 或 false"),
    ("must be a number", "必须是数字"),
    (
        "must be an RFC 3339 timestamp such as 2026-11-26T02:00:00Z",
        "必须是 RFC 3339 时间，例如 2026-11-26T02:00:00Z",
    ),
    ("must be at most {} characters", "最多 {0} 个字符"),
    ("must be {} to {} characters", "必须是 {0} 到 {1} 个字符"),
    ("must be a list of strings", "必须是字符串列表"),
    ("must be one of: {}", "必须是以下之一：{0}"),
    (
        "must be an 11-digit mainland mobile number such as 13800138000",
        "必须是 11 位大陆手机号，例如 13800138000",
    ),
    (
        "must be 5 to 20 characters of digits, spaces and '-', with an optional leading '+'",
        "必须是 5 到 20 个数字、空格或“-”，可以“+”开头",
    ),
    ("must be 8 to 128 characters", "必须是 8 到 128 个字符"),
    (
        "must be 18 characters: 17 digits and a check character",
        "必须是 18 位：17 位数字加 1 位校验码",
    ),
    ("has no valid birth date", "出生日期无效"),
    ("has a wrong check character", "校验码错误"),
    (
        "must be 18 characters of 0-9 and A-Y without I, O, S, V, Z",
        "必须是 18 位 0-9 和 A-Y（不含 I、O、S、V、Z）的字符",
    ),
    ("must be a 12-digit redemption code", "必须是 12 位核销码"),
    (
        "must be 1 to 100 printable ASCII characters",
        "必须是 1 到 100 个可打印 ASCII 字符",
    ),
    ("must be after starts_at", "必须晚于 starts_at"),
    ("must be after claim_starts_at", "必须晚于 claim_starts_at"),
    ("must be greater than 0 and at most 1000", "必须大于 0 且不超过 1000"),
    (
        "must not exceed min_spend_fen (unless min_spend_fen is 0)",
        "不能超过 min_spend_fen（min_spend_fen 为 0 时除外）",
    ),
    (
        "must not be before the campaign's starts_at",
        "不能早于活动的 starts_at",
    ),
    ("must not be after the campaign's ends_at", "不能晚于活动的 ends_at"),
    ("must not be before from", "不能早于 from"),
    (
        "must be https, or http to a loopback host",
        "必须是 https 地址（或允许时的本机 http 地址）",
    ),
    ("must be 1 to 2000 characters", "必须是 1 到 2000 个字符"),
    ("must be an absolute URL", "必须是完整的网址"),
    // Signing in and accounts.
    ("sign in first", "请先登录"),
    (
        "expected 'Authorization: Bearer <token>'",
        "需要 “Authorization: Bearer <令牌>” 请求头",
    ),
    ("the access token is invalid or expired", "访问令牌无效或已过期"),
    ("the access token is invalid", "访问令牌无效"),
    ("administrators only", "仅限管理员"),
    (
        "administrators run campaigns and take no subsidy",
        "管理员负责运营活动，不能领取补贴",
    ),
    ("the phone number or password is wrong", "手机号或密码错误"),
    (
        "the refresh token is invalid, expired or spent",
        "刷新令牌无效、已过期或已使用",
    ),
    ("this phone number is already registered", "该手机号已注册"),
    ("this identity is bound to another account", "该身份证已绑定其他账户"),
    (
        "this account is already verified with another identity",
        "该账户已用其他身份完成实名认证",
    ),
    // Merchants and offers.
    ("only the merchant's owner may do this", "只有商户负责人可以执行此操作"),
    (
        "only the merchant's owner and staff may do this",
        "只有商户负责人和店员可以执行此操作",
    ),
    (
        "another merchant that is not rejected holds this unified social credit code",
        "该统一社会信用代码已被其他未驳回的商户使用",
    ),
    (
        "cannot {} a merchant that is {} (only one that is {})",
        "不能对状态为 {1} 的商户执行 {0}（只能对状态为 {2} 的商户执行）",
    ),
    ("no registered user has this phone number", "没有使用该手机号注册的用户"),
    ("this user is already a member of the merchant", "该用户已是商户成员"),
    ("this user is not staff of the merchant", "该用户不是商户店员"),
    ("the owner cannot remove themself", "负责人不能移除自己"),
    ("the merchant is not approved", "商户未通过审核"),
    ("this offer is not on sale", "该商品未在售"),
    ("not enough left of this offer", "该商品库存不足"),
    // Campaigns and vouchers.
    ("a campaign that is {} cannot {}", "状态为 {0} 的活动不能执行 {1}"),
    ("the batch's face value exceeds any budget", "该批次面值总额超出预算"),
    (
        "the batch's face value of {} fen exceeds the campaign's unreserved budget",
        "该批次面值总额 {0} 分超出活动剩余预算",
    ),
    ("the campaign has ended", "活动已结束"),
    ("the campaign is not running now", "活动当前未在进行中"),
    ("claiming this batch has not started yet", "该批次尚未开始领取"),
    ("claiming this batch has ended", "该批次领取已结束"),
    (
        "this campaign is for real-name-verified residents",
        "该活动仅限实名认证的居民",
    ),
    ("this batch is sold out", "该批次已领完"),
    (
        "today's vouchers of this batch are all claimed; more are released at midnight",
        "该批次今日已领完，次日零点起可再领取",
    ),
    (
        "this batch is not given out that way: claim a first-come batch, enter a lottery batch",
        "该批次不以此方式发放：先到先得的批次请领取，抽签批次请报名",
    ),
    ("you have already entered this lottery", "你已参与过该批次抽签"),
    ("the entry window has not closed yet", "报名尚未截止"),
    ("this batch has been drawn already", "该批次已开奖"),
    (
        "this voucher cannot be used at this time of the week or day",
        "该消费券不能在当前星期或时段使用",
    ),
    ("must be 1 for a lottery batch", "抽签批次必须为 1"),
    ("applies to first_come batches only", "仅适用于先到先得的批次"),
    ("must not exceed quantity", "不能超过 quantity"),
    (
        "must be a non-empty list of ISO weekdays, 1 (Monday) to 7 (Sunday)",
        "必须是非空的 ISO 星期列表，1（星期一）到 7（星期日）",
    ),
    (
        "must be an object {\"from\": \"HH:MM\", \"to\": \"HH:MM\"}",
        "必须是对象 {\"from\": \"HH:MM\", \"to\": \"HH:MM\"}",
    ),
    ("from must be before to", "from 必须早于 to"),
    (
        "you hold as many vouchers of this batch as allowed",
        "你持有的该批次消费券已达上限",
    ),
    ("this voucher is not available to you", "该消费券对你不可用"),
    (
        "members of a merchant cannot use vouchers at their own merchant",
        "商户成员不能在本商户使用消费券",
    ),
    ("the voucher's campaign is not active", "消费券所属活动未在进行中"),
    (
        "the campaign does not cover this merchant's category",
        "活动不覆盖该商户的类别",
    ),
    (
        "the campaign does not cover this merchant's district",
        "活动不覆盖该商户所在区县",
    ),
    (
        "the order is below the voucher's minimum spend",
        "订单金额未达到消费券的使用门槛",
    ),
    (
        "the voucher's discount exceeds the order's value",
        "消费券优惠超过订单金额",
    ),
    // Orders.
    ("the order is {}, it cannot be {}", "订单状态为 {0}，不能变为 {1}"),
    ("this order was already redeemed", "该订单已核销"),
    (
        "no order of this merchant has this redemption code",
        "本商户没有使用此核销码的订单（请核对号码；其他商户的核销码在此无效）",
    ),
    ("this order was refunded; it cannot be redeemed", "该订单已退款，不能核销"),
    ("this order was cancelled; it cannot be redeemed", "该订单已取消，不能核销"),
    ("this order is not paid yet; it cannot be redeemed", "该订单尚未支付，不能核销"),
    ("this order was reversed; it cannot be redeemed", "该订单已被冲正，不能核销"),
    (
        "order {} is {}; the payment must be refunded",
        "订单 {0} 状态为 {1}，该笔付款须退款",
    ),
    // Idempotency and availability.
    (
        "this Idempotency-Key was used with a different request body",
        "该幂等键已用于不同的请求体",
    ),
    (
        "a request with this Idempotency-Key is still being processed",
        "使用该幂等键的请求仍在处理中",
    ),
    (
        "this request took too long and its Idempotency-Key was taken over; nothing was done",
        "该请求耗时过长，其幂等键已被接管；未做任何操作",
    ),
    ("the instance is shutting down", "实例正在关闭"),
    ("the database does not answer", "数据库无响应"),
    ("the database is unavailable, try again", "数据库暂不可用，请重试"),
    ("the database is busy, try again", "数据库繁忙，请重试"),
];

/// The Chinese title of `code`, if it has one (every code must: a test checks).
pub fn title_zh(code: &str) -> Option<&'static str> {
    TITLES_ZH.iter().find(|(c, _)| *c == code).map(|(_, zh)| *zh)
}

/// Whether an `Accept-Language` value prefers Chinese: the tag with the highest
/// q-value (first listed on a tie) is `zh` or `zh-*`; `q=0` means "not this".
pub fn prefers_chinese(accept_language: &str) -> bool {
    let mut best: Option<(f32, bool)> = None;
    for item in accept_language.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        if tag.is_empty() {
            continue;
        }
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .map(|v| v.trim().parse::<f32>().unwrap_or(0.0))
            })
            .unwrap_or(1.0);
        if q <= 0.0 {
            continue;
        }
        let zh = tag == "zh" || tag.starts_with("zh-");
        if best.map_or(true, |(b, _)| q > b) {
            best = Some((q, zh));
        }
    }
    best.is_some_and(|(_, zh)| zh)
}

/// Matches `text` against an English template; the holes' contents on success.
fn captures<'t>(template: &str, text: &'t str) -> Option<Vec<&'t str>> {
    let pieces: Vec<&str> = template.split("{}").collect();
    let mut rest = text.strip_prefix(pieces[0])?;
    let mut holes = Vec::new();
    for (i, piece) in pieces.iter().enumerate().skip(1) {
        let last = i == pieces.len() - 1;
        let at = if last {
            if !rest.ends_with(piece) {
                return None;
            }
            rest.len() - piece.len()
        } else if piece.is_empty() {
            return None;
        } else {
            rest.find(piece)?
        };
        holes.push(&rest[..at]);
        rest = &rest[at + piece.len()..];
    }
    (pieces.len() == 1 && rest.is_empty() || pieces.len() > 1).then_some(holes)
}

/// The Chinese of an English detail or field message, if it is a known one.
pub fn text_zh(english: &str) -> Option<String> {
    TEXTS_ZH.iter().find_map(|(en, zh)| {
        let holes = captures(en, english)?;
        let mut out = (*zh).to_owned();
        for (i, hole) in holes.iter().enumerate() {
            out = out.replace(&format!("{{{i}}}"), hole);
        }
        Some(out)
    })
}

/// Rewrites a problem+json body in Chinese; anything unexpected is left alone.
fn to_chinese(body: &[u8]) -> Option<Vec<u8>> {
    let mut problem: Value = serde_json::from_slice(body).ok()?;
    let object = problem.as_object_mut()?;
    let code = object.get("code")?.as_str()?.to_owned();
    if let Some(title) = title_zh(&code) {
        object.insert("title".into(), Value::from(title));
    }
    if let Some(Value::String(detail)) = object.get_mut("detail") {
        if let Some(zh) = text_zh(detail) {
            *detail = zh;
        }
    }
    if let Some(Value::Object(errors)) = object.get_mut("errors") {
        for messages in errors.values_mut() {
            if let Value::Array(messages) = messages {
                for message in messages.iter_mut() {
                    if let Value::String(text) = message {
                        if let Some(zh) = text_zh(text) {
                            *text = zh;
                        }
                    }
                }
            }
        }
    }
    serde_json::to_vec(&problem).ok()
}

/// Middleware: problem answers to callers who prefer Chinese, in Chinese. Sits
/// outside `problem_for_framework_errors` so the framework's answers pass through.
pub async fn localize(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    let chinese = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(prefers_chinese);
    let res = next.call(req).await?;
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if !is_problem {
        return Ok(res.map_into_left_body());
    }
    let (req, mut res) = res.into_parts();
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept-Language"));
    if !chinese {
        return Ok(ServiceResponse::new(req, res).map_into_left_body());
    }
    let (res, body) = res.into_parts();
    let bytes = match body::to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(_) => return Err(actix_web::error::ErrorInternalServerError("internal error")),
    };
    let localized = to_chinese(&bytes).unwrap_or_else(|| bytes.to_vec());
    let res = res.set_body(BoxBody::new(localized));
    Ok(ServiceResponse::new(req, res).map_into_right_body())
}

/// Keeps `Code` and the titles in step (used by the unit tests and the spec check).
pub fn every_code_has_a_chinese_title() -> Result<(), Code> {
    let mut all = Code::ALL.to_vec();
    all.push(Code::Internal);
    match all.into_iter().find(|code| title_zh(code.as_str()).is_none()) {
        Some(code) => Err(code),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_both_titles() {
        assert_eq!(every_code_has_a_chinese_title(), Ok(()));
        for code in Code::ALL {
            assert!(
                code.status().canonical_reason().is_some(),
                "{code:?} has no English title"
            );
        }
    }

    #[test]
    fn accept_language_honours_q_values() {
        assert!(prefers_chinese("zh"));
        assert!(prefers_chinese("zh-CN"));
        assert!(prefers_chinese("zh-Hans-CN,zh;q=0.9,en;q=0.8"));
        assert!(prefers_chinese("en;q=0.5, zh-TW;q=0.8"));
        assert!(!prefers_chinese("en-US,en;q=0.9,zh;q=0.5"));
        assert!(!prefers_chinese("zh;q=0, en"));
        assert!(!prefers_chinese("*"));
        assert!(!prefers_chinese(""));
        assert!(!prefers_chinese("zhx"));
    }

    #[test]
    fn templates_fill_their_holes() {
        assert_eq!(text_zh("is required").as_deref(), Some("为必填项"));
        assert_eq!(
            text_zh("must be between 1 and 99").as_deref(),
            Some("必须在 1 到 99 之间")
        );
        assert_eq!(
            text_zh("the order is redeemed, it cannot be refunded").as_deref(),
            Some("订单状态为 redeemed，不能变为 refunded")
        );
        assert_eq!(text_zh("is required!"), None);
        assert_eq!(text_zh("something new"), None);
    }

    /// The English texts handed to `AppError`s and form checks in `src/`, with
    /// their `format!` arguments as `{}`.
    fn english_texts_in_source() -> Vec<(String, String)> {
        const MARKERS: &[(&str, usize)] = &[
            ("AppError::new(", 0),
            ("AppError::field(", 1),
            ("invalid_state(", 0),
            ("AppError::forbidden(", 0),
            ("AppError::unauthorized(", 0),
            ("refuse(Code::", 0),
            ("reject(", 1),
            ("Err(\"", 0),
            ("Err(format!(\"", 0),
            ("|| \"", 0),
            ("|_| format!(\"", 0),
            ("record(name, \"", 0),
        ];
        let mut found = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).expect("src is readable").flatten() {
                    stack.push(entry.path());
                }
                continue;
            }
            if path.extension().map_or(true, |e| e != "rs") || path.ends_with("error/i18n.rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("source is readable");
            let source = source.split("#[cfg(test)]").next().unwrap_or("");
            for (marker, index) in MARKERS {
                let mut from = 0;
                while let Some(at) = source[from..].find(marker) {
                    let start = from + at + marker.len() - usize::from(marker.ends_with('"'));
                    from = start;
                    let call: String = source[start..].chars().take(300).collect();
                    let end = [";\n", ")\n"]
                        .iter()
                        .filter_map(|e| call.find(e))
                        .min()
                        .unwrap_or(call.len());
                    let call = &call[..end];
                    let literals: Vec<&str> = call.split('"').skip(1).step_by(2).collect();
                    let Some(text) = literals.get(*index) else { continue };
                    if !text.contains(' ') || !text.starts_with(char::is_alphabetic) {
                        continue;
                    }
                    let mut template = String::new();
                    let mut depth = 0;
                    for c in text.chars() {
                        match c {
                            '{' => {
                                if depth == 0 {
                                    template.push_str("{}");
                                }
                                depth += 1;
                            }
                            '}' => depth -= 1,
                            _ if depth == 0 => template.push(c),
                            _ => {}
                        }
                    }
                    found.push((path.display().to_string(), template));
                }
            }
        }
        found
    }

    #[test]
    fn every_detail_in_the_source_has_chinese() {
        let texts = english_texts_in_source();
        assert!(texts.len() > 40, "the scan found only {} texts", texts.len());
        let missing: Vec<_> = texts
            .iter()
            .filter(|(_, t)| !TEXTS_ZH.iter().any(|(en, _)| en == t))
            .collect();
        assert!(missing.is_empty(), "no Chinese for {missing:#?}");
    }
}
