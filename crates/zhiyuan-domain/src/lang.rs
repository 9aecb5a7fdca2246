//! The language a page or a document is shown in: Simplified Chinese (the default),
//! Traditional Chinese as written in Hong Kong, or English. `?lang=` chooses (`zh-CN`,
//! `zh-HK`, `en`); without it, the first of the browser's `Accept-Language` that is one of
//! these. Only the page's own words change: what people wrote (names, units, activities)
//! is shown as recorded, and a name is never converted between scripts.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    ZhHans,
    ZhHk,
    En,
}

impl Lang {
    pub const ALL: [Self; 3] = [Self::ZhHans, Self::ZhHk, Self::En];

    /// Of three renderings in the order of [`Lang::ALL`], the one in this language.
    pub fn pick<T>(self, [zh_hans, zh_hk, en]: [T; 3]) -> T {
        match self {
            Self::ZhHans => zh_hans,
            Self::ZhHk => zh_hk,
            Self::En => en,
        }
    }

    /// The language's name in itself, for a link to a page in it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ZhHans => "简体中文",
            Self::ZhHk => "繁體中文",
            Self::En => "English",
        }
    }

    /// The BCP 47 tag, for `<html lang>` and `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::ZhHans => "zh-CN",
            Self::ZhHk => "zh-HK",
            Self::En => "en",
        }
    }

    /// The language a BCP 47 tag asks for, if it is one of ours: Chinese written in
    /// Traditional characters (`zh-Hant`, or the usage of Hong Kong, Macao or Taiwan) is
    /// Hong Kong's; any other Chinese is Simplified; any English is English.
    fn of_tag(tag: &str) -> Option<Self> {
        let tag = tag.trim().to_ascii_lowercase();
        let mut subtags = tag.split(['-', '_']);
        match subtags.next()? {
            "zh" => Some(
                match subtags.any(|s| matches!(s, "hant" | "hk" | "mo" | "tw")) {
                    true => Self::ZhHk,
                    false => Self::ZhHans,
                },
            ),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// `query` (the `lang` parameter) when it names one of ours; else the most preferred
    /// of `accept_language` that does (highest `q`, the first among equals; `q=0` refuses);
    /// else Simplified Chinese.
    pub fn negotiate(query: Option<&str>, accept_language: Option<&str>) -> Self {
        if let Some(lang) = query.and_then(Self::of_tag) {
            return lang;
        }
        preferred(accept_language.unwrap_or_default(), Self::of_tag).unwrap_or(Self::ZhHans)
    }
}

/// Of a weighted list as HTTP's `Accept` headers write it (`zh-HK, en;q=0.5`), the most
/// preferred item that `known` recognises: highest `q`, the first among equals; `q=0`
/// refuses the item.
pub fn preferred<T>(list: &str, known: impl Fn(&str) -> Option<T>) -> Option<T> {
    let mut offered: Vec<(f32, T)> = list
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let value = known(parts.next()?.trim())?;
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (q > 0.0).then_some((q, value))
        })
        .collect();
    // Stable: among equal weights, the order the client gave.
    offered.sort_by(|a, b| b.0.total_cmp(&a.0));
    offered.into_iter().next().map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn the_parameter_chooses_before_the_browser_and_simplified_chinese_is_the_default() {
        assert_eq!(Lang::negotiate(Some("en"), Some("zh-HK")), Lang::En);
        assert_eq!(Lang::negotiate(Some("zh-HK"), None), Lang::ZhHk);
        assert_eq!(Lang::negotiate(Some("klingon"), Some("en-GB")), Lang::En);
        assert_eq!(Lang::negotiate(None, None), Lang::ZhHans);
        assert_eq!(Lang::negotiate(None, Some("fr-FR, de")), Lang::ZhHans);
        assert_eq!(Lang::negotiate(None, Some("")), Lang::ZhHans);
    }

    #[test]
    fn traditional_chinese_is_read_from_its_script_or_its_region() {
        for tag in ["zh-HK", "zh-Hant", "zh-Hant-TW", "zh-MO", "zh_TW", "ZH-hk"] {
            assert_eq!(Lang::negotiate(None, Some(tag)), Lang::ZhHk, "{tag}");
        }
        for tag in ["zh", "zh-CN", "zh-Hans-CN", "zh-SG"] {
            assert_eq!(Lang::negotiate(None, Some(tag)), Lang::ZhHans, "{tag}");
        }
    }

    #[test]
    fn the_browsers_most_preferred_language_we_have_wins() {
        let negotiate = |header| Lang::negotiate(None, Some(header));
        assert_eq!(negotiate("fr;q=1, en;q=0.8, zh-HK;q=0.5"), Lang::En);
        assert_eq!(negotiate("en;q=0.4, zh-HK;q=0.9"), Lang::ZhHk);
        assert_eq!(
            negotiate("zh-HK, en"),
            Lang::ZhHk,
            "equal weights keep their order"
        );
        assert_eq!(negotiate("en;q=0, zh-TW;q=0.1"), Lang::ZhHk, "q=0 refuses");
        assert_eq!(
            negotiate("en;q=abc, zh-CN;q=0.2"),
            Lang::ZhHans,
            "a bad weight is skipped"
        );
    }
}
