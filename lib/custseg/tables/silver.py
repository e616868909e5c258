"""Silver tables: standardized, typed, deduplicated source data."""

from custseg.tables.spec import TableSpec, columns

CUSTOMER_RECORDS = TableSpec(
    name="customer_records", layer="silver",
    description="CRM records and web accounts in one standardized shape, one row per source record.",
    primary_key=("source", "record_id"),
    columns=columns(
        ("source", "string", "crm_customers or web_accounts", False),
        ("record_id", "string", "Id in the source (crm_id, account_id)", False),
        ("title", "string", "Salutation split off the name (Mr, Dr...)"),
        ("first_name", "string", "Given name for display: trimmed, re-cased if typed in one case"),
        ("last_name", "string", "Family name for display"),
        ("name_suffix", "string", "Jr, Sr, III... split off the family name"),
        ("first_name_key", "string", "Given name for matching: accents folded, letters only"),
        ("last_name_key", "string", "Family name for matching"),
        ("email", "string", "Lower-case valid email, null if missing or invalid"),
        ("email_key", "string", "Email for matching: no +tag, Gmail dots removed"),
        ("phone_e164", "string", "Valid phone number in E.164, null if missing or invalid"),
        ("birth_date", "date", "Date of birth, null if missing, ambiguous or impossible"),
        ("gender", "string", "male, female, other or unknown", False),
        ("street", "string", "Street line with unified street-type words"),
        ("street_key", "string", "Street line for matching"),
        ("city", "string", "City for display"),
        ("postcode", "string", "Postcode in its country's canonical format"),
        ("country", "string", "ISO 3166-1 alpha-2"),
        ("opt_in", "boolean", "Marketing consent"),
        ("created_at", "timestamp", "When the source record was created", False),
        ("updated_at", "timestamp", "Last change in the source"),
        ("quality_flags", "array<string>", "Problems found while standardizing (email_invalid...)", False),
        ("source_file", "string", "Raw file of the record", False),
        ("source_line", "bigint", "Line in that file", False),
    ),
)

ORDERS_CLEAN = TableSpec(
    name="orders_clean", layer="silver",
    description="Orders with amounts in the reporting currency, totals from their lines.",
    primary_key=("order_id",),
    columns=columns(
        ("order_id", "string", "Order id", False),
        ("channel", "string", "store or online", False),
        ("customer_source", "string", "Source whose id is in customer_ref (crm_customers, web_accounts)", False),
        ("customer_ref", "string", "Buyer's record id in customer_source", False),
        ("order_ts", "timestamp", "Order time (UTC)", False),
        ("order_date", "date", "Order date (UTC)", False),
        ("currency", "string", "Currency the order was paid in", False),
        ("status", "string", "completed, returned, cancelled or unknown", False),
        ("discount_code", "string", "Promotion code, if any"),
        ("has_discount", "boolean", "A promotion code or line discount was applied", False),
        ("items", "int", "Units across all lines", False),
        ("gross_amount", "decimal(14,2)", "Sum of line prices x quantity, reporting currency"),
        ("discount_amount", "decimal(14,2)", "Sum of line discounts, reporting currency"),
        ("net_amount", "decimal(14,2)", "gross - discount, reporting currency"),
        ("shipping_amount", "decimal(14,2)", "Shipping charged, reporting currency"),
        ("quality_flags", "array<string>", "Problems found (no_lines, unknown_currency...)", False),
    ),
)

ORDER_LINES_CLEAN = TableSpec(
    name="order_lines_clean", layer="silver",
    description="Order lines with product category and amounts in the reporting currency.",
    primary_key=("order_id", "line_no"),
    columns=columns(
        ("order_id", "string", "Order id", False),
        ("line_no", "int", "Line number", False),
        ("product_id", "string", "Product id", False),
        ("category", "string", "Product category, 'unknown' if the product is not in the catalogue", False),
        ("quantity", "int", "Units", False),
        ("unit_price", "decimal(14,2)", "Unit price, reporting currency"),
        ("gross_amount", "decimal(14,2)", "unit_price x quantity, reporting currency"),
        ("discount_amount", "decimal(14,2)", "Discount, reporting currency"),
        ("net_amount", "decimal(14,2)", "gross - discount, reporting currency"),
        ("quality_flags", "array<string>", "Problems found (orphan_line, unknown_product...)", False),
    ),
)

EVENTS_CLEAN = TableSpec(
    name="events_clean", layer="silver",
    description="Behavioural events, deduplicated, with standardized event types.",
    primary_key=("event_id",),
    partition_by=("event_date",),
    columns=columns(
        ("event_id", "string", "Event id", False),
        ("account_id", "string", "Logged-in account, null when anonymous"),
        ("session_id", "string", "Session id", False),
        ("event_ts", "timestamp", "Event time (UTC)", False),
        ("event_date", "date", "Event date (UTC), the partition column", False),
        ("event_type", "string",
         "session_start, page_view, product_view, add_to_cart, remove_from_cart, checkout or unknown", False),
        ("product_id", "string", "Product, for product and cart events"),
        ("device", "string", "web, ios, android or unknown", False),
    ),
)

PRODUCTS_CLEAN = TableSpec(
    name="products_clean", layer="silver",
    description="Product catalogue with list prices in the reporting currency.",
    primary_key=("product_id",),
    columns=columns(
        ("product_id", "string", "Product id", False),
        ("product_name", "string", "Display name"),
        ("category", "string", "Lower-case category", False),
        ("brand", "string", "Brand"),
        ("list_price", "decimal(14,2)", "List price, reporting currency"),
        ("stock_units", "int", "Units in stock (0: out of stock, never recommended; null: unknown)"),
        ("replenishable", "boolean", "Bought again and again: recommendable right after a purchase"),
    ),
)

CLEANING_LOG = TableSpec(
    name="cleaning_log", layer="silver", mode="append",
    description="What each cleaning run changed: per table, column and rule, the rows affected.",
    columns=columns(
        ("run_id", "string", "clean run", False),
        ("table_name", "string", "Silver table", False),
        ("column_name", "string", "Column the rule applies to", False),
        ("rule", "string", "What was done (e.g. invalid email -> null)", False),
        ("rows_affected", "bigint", "Rows the rule changed or flagged", False),
        ("rows_total", "bigint", "Rows in the table", False),
    ),
)

TABLES = (CUSTOMER_RECORDS, ORDERS_CLEAN, ORDER_LINES_CLEAN, EVENTS_CLEAN, PRODUCTS_CLEAN, CLEANING_LOG)
