import { AddToCartRequest, CheckOutCartRequest, SetCartLineRequest, stringField } from "@oms/shared";
import { addToCart, getCart } from "../handlers/cart";
import { clearCart, removeCartItem, setCartItem } from "../handlers/cart-edit";
import { checkOutCart } from "../handlers/checkout";
import { getProduct, listProducts, ProductsQuery } from "../handlers/catalog";
import { ClientOrdersQuery, getOrder, listClientOrders } from "../handlers/orders";
import { cancelOrder } from "../handlers/order-lifecycle";
import type { RouteSpec } from "./types";
import {
  CartAdded,
  CartCleared,
  CartLineSet,
  CartView,
  CheckoutDone,
  OrderList,
  OrderMoved,
  OrderView,
  ProductList,
  ProductView,
} from "./schemas";

const BUSY = "A checkout of this cart is in progress: the cart can change once it has ended";
const EDIT_TIMEOUT = "No worker answered in time; the change may still be applied";
const UNAVAILABLE = "Redis or MySQL unreachable; see Retry-After";
const NOT_OWNED = "Unknown order, or (JWT on) not the token's client's";

/** The cart, checkout, catalog and a client's orders. */
export const SHOP_ROUTES: RouteSpec[] = [
  {
    method: "post",
    path: "/addToCart",
    operationId: "addToCart",
    summary: "Add a quantity of a product to a client's cart",
    tag: "shop",
    auth: "client-body",
    body: { schema: AddToCartRequest },
    responses: {
      "200": { description: "Added; the cart now holds quantityInCart", schema: CartAdded },
      "404": "Unknown product",
      "409": "The cart's total would exceed the available stock",
      "504": "No worker answered in time; the item may still be added",
    },
    handler: (deps, req) => addToCart(deps, req.body, req.ctx),
  },
  {
    method: "post",
    path: "/checkOutCart",
    operationId: "checkOutCart",
    summary: "Check out a client's cart: reserve, pay, commit",
    tag: "shop",
    auth: "client-body",
    body: { schema: CheckOutCartRequest },
    // Only a string is a client (the handler refuses anything else); String() of a body
    // value can throw ({"toString":1}) or overflow the stack (an array nested 5000 deep).
    idempotency: (req) => {
      const clientID = stringField(req.body, "clientID");
      return clientID === undefined ? "checkout-invalid" : `checkout:${clientID}`;
    },
    reads: ["Prefer"],
    responses: {
      "200": { description: "Order completed", schema: CheckoutDone },
      "202": { description: "Accepted, still running; poll the Location", schema: CheckoutDone, headers: ["Location"] },
      "402": "Payment declined",
      "409":
        "A product ran short (named), or this Idempotency-Key is in flight (a second checkout while one runs joins it and gets its answer)",
      "503":
        "Redis or MySQL unreachable (see Retry-After); no order id is given: with an Idempotency-Key retry with it, without one see GET /clients/{clientID}/orders or retry",
    },
    handler: (deps, req) =>
      checkOutCart(deps, req.body, req.ctx, {
        respondAsync: /\brespond-async\b/i.test(req.header("Prefer") ?? ""),
        idempotencyKey: req.header("Idempotency-Key"),
      }),
  },
  {
    method: "get",
    path: "/cart/:clientID",
    operationId: "getCart",
    summary: "A client's cart with prices and live stock",
    tag: "shop",
    auth: "client-path",
    responses: { "200": { description: "The cart", schema: CartView } },
    handler: (deps, req) => getCart(deps, String(req.params.clientID)),
  },
  {
    method: "delete",
    path: "/cart/:clientID",
    operationId: "clearCart",
    summary: "Empty a client's cart",
    tag: "shop",
    auth: "client-path",
    responses: { "200": { description: "Emptied", schema: CartCleared }, "409": BUSY, "504": EDIT_TIMEOUT },
    handler: (deps, req) => clearCart(deps, String(req.params.clientID), req.ctx),
  },
  {
    method: "put",
    path: "/cart/:clientID/items/:productID",
    operationId: "setCartItem",
    summary: "Set a cart line's quantity (0 removes it)",
    tag: "shop",
    auth: "client-path",
    body: { schema: SetCartLineRequest },
    responses: {
      "200": { description: "Set; the line now holds quantityInCart", schema: CartLineSet },
      "404": "Unknown product",
      "409": `The quantity exceeds the available stock, or: ${BUSY}`,
      "504": EDIT_TIMEOUT,
    },
    handler: (deps, req) =>
      setCartItem(deps, String(req.params.clientID), String(req.params.productID), req.body, req.ctx),
  },
  {
    method: "delete",
    path: "/cart/:clientID/items/:productID",
    operationId: "removeCartItem",
    summary: "Remove a line from a cart (a line not in the cart is already removed: 200)",
    tag: "shop",
    auth: "client-path",
    responses: { "200": { description: "Removed", schema: CartLineSet }, "409": BUSY, "504": EDIT_TIMEOUT },
    handler: (deps, req) => removeCartItem(deps, String(req.params.clientID), String(req.params.productID), req.ctx),
  },
  {
    method: "get",
    path: "/clients/:clientID/orders",
    operationId: "listClientOrders",
    summary: "A client's orders, newest first, a page at a time",
    tag: "shop",
    auth: "client-path",
    query: ClientOrdersQuery,
    responses: { "200": { description: "Orders", schema: OrderList } },
    handler: (deps, req) => listClientOrders(deps, String(req.params.clientID), req.query),
  },
  {
    method: "get",
    path: "/products",
    operationId: "listProducts",
    summary: "The catalog with live stock, by product id, a page at a time",
    tag: "shop",
    auth: "none",
    query: ProductsQuery,
    responses: { "200": { description: "Products", schema: ProductList }, "503": UNAVAILABLE },
    handler: (deps, req) => listProducts(deps, req.query),
  },
  {
    method: "get",
    path: "/products/:productID",
    operationId: "getProduct",
    summary: "One product with live stock",
    tag: "shop",
    auth: "none",
    responses: {
      "200": { description: "The product", schema: ProductView },
      "404": "Unknown product",
      "503": UNAVAILABLE,
    },
    handler: (deps, req) => getProduct(deps, String(req.params.productID)),
  },
  {
    method: "get",
    path: "/orders/:orderId",
    operationId: "getOrder",
    summary: "An order: state, items, total, failure reason, timestamps",
    description:
      "When JWT_SECRET is set, only the owner's token shows the order; no token, an invalid one or another client's is the same 404 as an unknown order.",
    tag: "shop",
    auth: "owner",
    responses: { "200": { description: "The order", schema: OrderView }, "404": NOT_OWNED },
    handler: (deps, req) => getOrder(deps, String(req.params.orderId), req.owner),
  },
  {
    method: "post",
    path: "/orders/:orderId/cancel",
    operationId: "cancelOrder",
    summary: "Cancel a paid order before it is fulfilled: everything not yet refunded is refunded and back in stock",
    description:
      "No body. The refund is recorded with the state change and carried to the payment provider by a worker (`refund.status` pending until it confirmed; see GET /orders/{orderId}). When JWT_SECRET is set, only the owner's token may cancel; any other request gets the same 404 as an unknown order.",
    tag: "shop",
    auth: "owner",
    responses: {
      "200": { description: "Cancelled", schema: OrderMoved },
      "404": NOT_OWNED,
      "409":
        "INVALID_TRANSITION: the order is not completed or partially_refunded (pending, failed, fulfilled, shipped, cancelled, refunded)",
    },
    handler: (deps, req) => cancelOrder(deps, String(req.params.orderId), req.owner),
  },
];
